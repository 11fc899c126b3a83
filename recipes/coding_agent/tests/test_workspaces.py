"""The worker's sandbox client alone, no Temporal server: what a worker that replaces a dead one does with
the run's workspace. It resumes the session from the state in the activity's input, and the Agents SDK then
starts it again; the recipe's ``LocalWorkspaces`` keeps the agent's edit there, the plain client writes the
project as given over it."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from agents.sandbox.sandboxes.unix_local import UnixLocalSandboxClient

from recipes.coding_agent.project import PRICING, CodingTask
from recipes.coding_agent.worker import LocalWorkspaces

FIXED = PRICING.replace("percent / 10,", "percent / 100,")


@pytest.mark.asyncio
@pytest.mark.parametrize("client, keeps", [(LocalWorkspaces, True), (UnixLocalSandboxClient, False)],
                         ids=["the recipe's client keeps the agent's edit", "the plain client writes the manifest again"])
async def test_a_new_worker_resuming_a_workspace(client, keeps, tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    first = LocalWorkspaces(inherit_host_environment=False)
    session = await first.create(manifest=CodingTask().manifest())
    await session.start()
    await session.write(Path("pricing.py"), io.BytesIO(FIXED.encode()))
    resumed = await client(inherit_host_environment=False).resume(session.state)
    await resumed.start()
    text = (await resumed.read(Path("pricing.py"))).read()
    await first.delete(session)
    assert (text == FIXED.encode()) is keeps, text.decode()
    assert not list(tmp_path.iterdir()), "the workspace is deleted with its session"
