import pytest_asyncio
from agents import set_trace_processors

from recipes.core.testing import time_skipping_server

set_trace_processors([])  # the tests read histories, not traces: export none


@pytest_asyncio.fixture
async def env():
    """A Temporal server of this test's own (in memory, time skipping), stopped after it."""
    async with await time_skipping_server() as env:
        yield env
