"""A worker process for an attendee's exercise file: ``python -m tutorial.exercises.worker FILE
--task-queue Q``. It registers the file's ``WORKFLOW`` and the weather activities, with the file's
``MODEL_PARAMS`` for the model calls (exercise 02 starts two of these and SIGKILLs one)."""

from __future__ import annotations

import argparse
from pathlib import Path

from recipes.core.worker_options import run_worker_main
from recipes.tools.weather_alerts import WEATHER_ACTIVITIES
from tutorial.exercises import load_answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("answer_file", type=Path)
    parser.add_argument("--task-queue", required=True)
    args = parser.parse_args()
    answer = load_answer(args.answer_file)
    run_worker_main(task_queue=args.task_queue, workflows=[answer.WORKFLOW], activities=WEATHER_ACTIVITIES,
                    model_params=answer.MODEL_PARAMS)  # fmt: skip


if __name__ == "__main__":
    main()
