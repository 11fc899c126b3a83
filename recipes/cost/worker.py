"""Worker for the cost benchmark's workflows.

    python -m recipes.cost.worker                        # model calls as activities
    python -m recipes.cost.worker --local-model-calls    # model calls as local activities
    python -m recipes.cost.worker --activity-slots 4     # at most 4 activities at once

Polls ``durability-cost`` (``$COST_TASK_QUEUE`` or ``--task-queue``). Start several on one
task queue and the server spreads the work over them: that is how Temporal scales out.
Workers on one queue must agree on ``--local-model-calls``, since a run's history records
which kind of step it took. Settings as for every worker here: ``TEMPORAL_ADDRESS`` (or a
Temporal profile), the model switch, ``NWS_API_URL``.
"""

from __future__ import annotations

import argparse

from recipes.core.worker_options import run_worker
from recipes.core.scripts import add_verbose_flag, positive_int, run_script
from recipes.cost.activities import COST_ACTIVITIES
from recipes.cost.workflows import (
    LOCAL_MODEL_PARAMS, MODEL_PARAMS, TASK_QUEUE_ENV, CostAgentWorkflow, FloorWorkflow, default_task_queue,
)  # fmt: skip
from recipes.tools.weather_alerts import WEATHER_ACTIVITIES


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task-queue", default=None, help=f"default: ${TASK_QUEUE_ENV} or {default_task_queue()!r}")
    parser.add_argument("--local-model-calls", action="store_true", help="run model calls as local activities")
    # Slots bound what one worker takes on at once. The SDK's default is 100 activities; a
    # worker calling a slow model mostly waits, so slots, not CPU, are what runs out first.
    parser.add_argument("--activity-slots", type=positive_int, default=None, help="max_concurrent_activities")
    args = add_verbose_flag(parser).parse_args(argv)
    options = {"max_concurrent_activities": args.activity_slots} if args.activity_slots else {}
    run_script(run_worker(
        task_queue=args.task_queue or default_task_queue(),
        workflows=[CostAgentWorkflow, FloorWorkflow],
        activities=[*WEATHER_ACTIVITIES, *COST_ACTIVITIES],
        model_params=LOCAL_MODEL_PARAMS if args.local_model_calls else MODEL_PARAMS,
        **options,
    ))  # fmt: skip


if __name__ == "__main__":
    main()
