"""Worker Versioning for operators: which version takes new runs, and when an old one can go.

    python -m recipes.shipping.versions set-current --build-id 2.0     # new runs go to 2.0
    python -m recipes.shipping.versions describe                        # versions, current, drainage
    python -m recipes.shipping.versions describe --build-id 1.0

A version is *drained* once no open run is pinned to it (the server checks periodically, so the
status lags by a minute or so); then its workers can be stopped. ``temporal worker deployment
...`` does the same from the CLI.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass

from temporalio.api.enums.v1 import VersionDrainageStatus, VersioningBehavior, WorkerDeploymentVersionStatus
from temporalio.api.workflowservice.v1 import (
    DescribeWorkerDeploymentRequest,
    SetWorkerDeploymentCurrentVersionRequest,
)
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError

from recipes.core.errors import TutorialError
from recipes.core.scripts import add_verbose_flag, run_script
from recipes.core.settings import connect
from recipes.shipping.worker import DEPLOYMENT_ENV, deployment_name

__all__ = ["DeploymentVersion", "deployment_versions", "run_version", "set_current_version"]


@dataclass(frozen=True)
class DeploymentVersion:
    build_id: str
    current: bool
    status: str
    """INACTIVE, CURRENT, RAMPING, DRAINING or DRAINED."""
    drainage: str
    """DRAINING or DRAINED once the version is no longer current; UNSPECIFIED before."""


async def set_current_version(client: Client, build_id: str, deployment: str | None = None, *,
                              timeout: float = 30.0) -> None:  # fmt: skip
    """Make ``build_id`` the version that new runs (and unpinned ones) go to. The server knows a version
    once one of its workers has polled, a moment after the worker starts: until ``timeout``, a refusal
    is tried again."""
    request = SetWorkerDeploymentCurrentVersionRequest(namespace=client.namespace, build_id=build_id,
                                                       deployment_name=deployment or deployment_name(),
                                                       identity="recipes.shipping.versions")  # fmt: skip
    deadline = time.monotonic() + timeout
    while True:
        try:
            await client.workflow_service.set_worker_deployment_current_version(request)
            return
        except RPCError as err:
            if time.monotonic() > deadline:
                raise TutorialError(f"Could not make build {build_id} of deployment {request.deployment_name!r} current "
                                    f"within {timeout:g}s ({err.message}); is a worker of that version polling?") from None
            await asyncio.sleep(0.5)


async def deployment_versions(client: Client, deployment: str | None = None) -> list[DeploymentVersion]:
    info = (await client.workflow_service.describe_worker_deployment(DescribeWorkerDeploymentRequest(
        namespace=client.namespace, deployment_name=deployment or deployment_name()))).worker_deployment_info  # fmt: skip
    current = info.routing_config.current_deployment_version.build_id
    return [DeploymentVersion(v.deployment_version.build_id, v.deployment_version.build_id == current,
                              WorkerDeploymentVersionStatus.Name(v.status).removeprefix("WORKER_DEPLOYMENT_VERSION_STATUS_"),
                              VersionDrainageStatus.Name(v.drainage_status).removeprefix("VERSION_DRAINAGE_STATUS_"))
            for v in info.version_summaries]  # fmt: skip


async def run_version(handle: WorkflowHandle) -> tuple[str, str]:
    """(versioning behavior, build id) a run is on: ``("PINNED", "1.0")``; empty strings for an unversioned run."""
    info = (await handle.describe()).raw_description.workflow_execution_info.versioning_info
    behavior = VersioningBehavior.Name(info.behavior).removeprefix("VERSIONING_BEHAVIOR_") if info.behavior else ""
    return behavior, info.deployment_version.build_id


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--deployment", default=None, help=f"default: ${DEPLOYMENT_ENV} or 'shipping'")
    commands = parser.add_subparsers(dest="command", required=True)
    current = commands.add_parser("set-current", parents=[common], help="make a version the one new runs go to")
    current.add_argument("--build-id", required=True)
    commands.add_parser("describe", parents=[common], help="the deployment's versions")
    args = add_verbose_flag(parser).parse_args(argv)
    deployment = args.deployment or deployment_name()
    client = await connect()
    if args.command == "set-current":
        await set_current_version(client, args.build_id, deployment)
        print(f"New runs of deployment {deployment!r} go to build {args.build_id}.")
    try:
        versions = await deployment_versions(client, deployment)
    except RPCError as err:
        raise TutorialError(f"Cannot describe deployment {deployment!r}: {err.message}") from None
    for version in versions:
        print(f"{'*' if version.current else ' '} {version.build_id}: {version.status}, drainage {version.drainage}")


if __name__ == "__main__":
    run_script(main())
