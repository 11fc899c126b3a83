"""Worker for the alert-history agent.

    python -m recipes.payloads.worker

Polls the ``payloads-agent`` task queue (``$PAYLOADS_TASK_QUEUE``) and runs
``AlertHistoryWorkflow``, the model activity and ``fetch_alert_history``. Payloads are stored as
the ``PAYLOAD_*`` settings say (``recipes/payloads/settings.py``): set ``PAYLOAD_STORE=local`` for the
~3 MB alert history to go by reference, ``PAYLOAD_KEYRING`` to encrypt everything. The starter,
the codec server and every other worker must have the same settings.
"""

from __future__ import annotations

from temporalio.worker import Worker

from recipes.core.scripts import run_script
from recipes.core.settings import connect
from recipes.core.worker import agents_plugin, serve, worker_identity
from recipes.payloads.activities import fetch_alert_history
from recipes.payloads.settings import PayloadSettings, PayloadsPlugin
from recipes.payloads.workflows import MODEL_PARAMS, AlertHistoryWorkflow, default_task_queue


async def main() -> None:
    plugin, model = agents_plugin(MODEL_PARAMS)
    payloads = PayloadSettings.load()  # read once, here, so a bad setting stops the worker before it polls
    client = await connect(plugins=[PayloadsPlugin(payloads), plugin])
    worker = Worker(
        client,
        task_queue=default_task_queue(),
        workflows=[AlertHistoryWorkflow],
        activities=[fetch_alert_history],
        identity=worker_identity(),
    )
    print(payloads.describe().capitalize(), flush=True)
    await serve(worker, model=model)


if __name__ == "__main__":
    run_script(main())
