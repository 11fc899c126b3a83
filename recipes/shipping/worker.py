"""Worker for the reviewed agent, in the code version you name.

    python -m recipes.shipping.worker --code v1                  # one fleet: v1, later v2 (patched)
    python -m recipes.shipping.worker --code v2
    python -m recipes.shipping.worker --code v1 --build-id 1.0   # Worker Versioning: deployment version
    python -m recipes.shipping.worker --code v2-pinned --build-id 2.0

With ``--build-id`` the worker joins the Worker Deployment ``--deployment`` (default
``$SHIPPING_DEPLOYMENT`` or ``shipping``) as that version, and runs it starts are pinned to it. A
new version takes new runs once it is made the deployment's current version
(``python -m recipes.shipping.versions set-current --build-id 2.0``). Polls ``$SHIPPING_TASK_QUEUE``
(default ``shipping-agent``); the model and the Temporal server come from the usual settings.
"""

from __future__ import annotations

import argparse
import os

from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.worker import WorkerDeploymentConfig

from recipes.core.scripts import add_verbose_flag, run_script
from recipes.core.worker_options import run_worker
from recipes.shipping.activities import screen_question
from recipes.shipping.workflows import CODE_VERSIONS, MODEL_PARAMS, default_task_queue
from recipes.tools.weather_alerts import WEATHER_ACTIVITIES

DEPLOYMENT_ENV = "SHIPPING_DEPLOYMENT"


def deployment_name() -> str:
    return os.environ.get(DEPLOYMENT_ENV) or "shipping"


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--code", choices=sorted(CODE_VERSIONS), required=True, help="which version of the workflow")
    parser.add_argument("--build-id", default=None, help="join the Worker Deployment as this version (Worker Versioning)")
    parser.add_argument("--deployment", default=None, help=f"default: ${DEPLOYMENT_ENV} or 'shipping'")
    args = add_verbose_flag(parser).parse_args(argv)
    options = {}
    if args.build_id:
        options["deployment_config"] = WorkerDeploymentConfig(
            version=WorkerDeploymentVersion(args.deployment or deployment_name(), args.build_id),
            use_worker_versioning=True,
            default_versioning_behavior=VersioningBehavior.PINNED,
        )
    await run_worker(task_queue=default_task_queue(), workflows=[CODE_VERSIONS[args.code]],
                     activities=[*WEATHER_ACTIVITIES, screen_question], model_params=MODEL_PARAMS, **options)  # fmt: skip


if __name__ == "__main__":
    run_script(main())
