"""Run the plain weather agent once, in this process: ``python -m recipes.plain_agent.run "question"``.

Notebook 01 starts this as a subprocess and SIGKILLs it mid-run: without a
durable runtime, the run's progress lives only in this process's memory.
"""

from __future__ import annotations

import sys

from agents import RunConfig, Runner

from recipes.plain_agent.weather_agent import build_weather_agent
from recipes.core.models import choose_model
from recipes.core.scripts import run_script

from recipes.core.tracing import install_tracing


async def main(question: str) -> None:
    choice = choose_model()
    install_tracing(model=choice)
    print(f"Running plain agent with {choice.describe()}", flush=True)
    result = await Runner.run(
        build_weather_agent(),
        question,
        run_config=RunConfig(model_provider=choice.provider()),
    )
    print(f"Answer: {result.final_output}", flush=True)


if __name__ == "__main__":
    run_script(main(" ".join(sys.argv[1:]) or "Any weather alerts in California?"))
