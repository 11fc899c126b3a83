"""The coding agent's tools, and how each sandbox operation runs as an activity.

Every tool works through the sandbox session the Agents SDK binds to the agent's capability. Inside
a workflow that session is the Temporal integration's: each ``read``, ``write`` and ``exec`` is an
activity (``coding-sandbox_session_read`` ...) run by the worker's ``SandboxClientProvider``, whose
real client (``UnixLocalSandboxClient``) works in a directory on the worker's disk. The tools run in
the workflow; only those operations leave it.

``read_file(path)``, ``search(text)``, ``apply_patch(patch)``
    Go through the run's sandbox client, :data:`SANDBOX` with :data:`SANDBOX_OPS`. A read, a ``grep``,
    writing the same bytes to the same file: each is safe to run twice, so a lost or failed attempt is
    simply retried. (``apply_patch`` reads the file, applies the diff in the workflow, writes the
    result: the read and the write are separate activities, and the write carries the finished text,
    so a retried write cannot apply the patch twice.)
``run_tests()``
    Goes through a second provider, :data:`TEST_RUNNER`, over the same workspace, so that a test run
    gets its own timeouts and retries (:func:`test_run_config`): the integration takes one
    ``ActivityConfig`` per sandbox client, for every operation. A test run is slow, and not
    idempotent in general (tests write caches, databases, files), so it gets one retry, for a lost
    attempt, and a time limit from the task. The exec activity does not heartbeat, so a worker that
    dies mid-run is noticed only when that limit passes.

A failure the model can act on (a missing file, a patch that does not apply, a test run out of time,
arguments that are not JSON) comes back to it as the tool's result, in core's words (``tool_error_text``:
what failed, and whether it was retried), through each tool's ``failure_error_function``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal

from agents import FunctionTool, RunContextWrapper, function_tool
from agents.tool_context import ToolContext
from agents.sandbox import Capability, Manifest
from agents.sandbox.capabilities.tools import SandboxApplyPatchTool
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, CancelledError
from temporalio.openai_agents.workflow import temporal_sandbox_client
from temporalio.workflow import ActivityConfig

from recipes.core.tool_errors import tool_error_text

#: The run's sandbox client: the worker registers a SandboxClientProvider under this name.
SANDBOX = "coding"
#: The same sandbox, reached for test runs only, so they get their own timeouts and retries.
TEST_RUNNER = "coding-tests"

#: File operations, searches and the workspace's lifecycle (create, start, stop, delete): each takes
#: milliseconds and is safe to repeat. 30 s is a stuck worker, not a slow disk; five attempts with
#: backoff 1 s -> 10 s ride out a worker restart. A failure the sandbox calls permanent (a missing
#: file) is not retried: the integration raises it as a non-retryable ApplicationError.
SANDBOX_OPS = ActivityConfig(
    start_to_close_timeout=timedelta(seconds=30),
    retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=10),
                             maximum_attempts=5),  # fmt: skip
)

#: Longest text a tool hands the model: a whole small file, or the end of a long test log.
MAX_OUTPUT_CHARS = 6000
#: Time Temporal allows a test attempt beyond the command's own limit (starting it, reporting back).
TEST_RUN_MARGIN = timedelta(seconds=10)


def test_run_config(test_run_seconds: float) -> ActivityConfig:
    """One test run: the command's limit plus :data:`TEST_RUN_MARGIN` (the sandbox stops the command
    at its limit, so Temporal's timeout only fires for a worker that is gone), and two attempts: the
    second only for an attempt lost with its worker. A test suite that failed is a result for the
    model, not an error; one that ran out of time is not run again (the sandbox reports it as permanent)."""
    return ActivityConfig(
        start_to_close_timeout=timedelta(seconds=test_run_seconds) + TEST_RUN_MARGIN,
        retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=2),
    )


def _as_tool_result(ctx: ToolContext, error: Exception) -> str | None:
    """A failed tool call as the text the model reads; None (raise it) for a cancelled activity, which ends
    the run. (``@function_tool`` catches a tool's errors itself, so this is where they are worded.)"""
    if isinstance(error, ActivityError) and isinstance(error.cause, CancelledError):
        return None
    return tool_error_text(ctx.tool_name, error)


def _tail(text: str) -> str:
    return text if len(text) <= MAX_OUTPUT_CHARS else "…" + text[-MAX_OUTPUT_CHARS:]


class CodingTools(Capability):
    """Read, search, patch and test in the sandbox's workspace: the agent's four tools."""

    type: Literal["coding_tools"] = "coding_tools"
    test_command: str
    test_run_seconds: float

    def tools(self) -> list[FunctionTool]:
        session = self.session
        if session is None:
            raise ValueError("CodingTools is not bound to a sandbox session")
        patcher = SandboxApplyPatchTool(session=session)

        @function_tool(failure_error_function=_as_tool_result)
        async def read_file(path: str) -> str:
            """Read a text file of the project.

            Args:
                path: The file's path, relative to the project root, e.g. "pricing.py".
            """
            handle = await session.read(Path(path))
            return _tail(handle.read().decode("utf-8", errors="replace"))

        @function_tool(failure_error_function=_as_tool_result)
        async def search(text: str) -> str:
            """Search the project's files for a piece of text; lists each matching line as file:line:text.

            Args:
                text: The exact text to look for.
            """
            found = await session.exec("grep", "-rnF", "--", text, ".", shell=False)
            if found.exit_code == 1:
                return f"No line contains {text!r}."
            return _tail((found.stdout or found.stderr).decode("utf-8", errors="replace"))

        @function_tool(failure_error_function=_as_tool_result)
        async def apply_patch(ctx: RunContextWrapper, patch: str) -> str:
            """Edit the project's files with a patch in the apply_patch format:
            "*** Begin Patch", then per file "*** Update File: <path>" and hunks that start with "@@"
            and whose lines start with " " (context), "-" (removed) or "+" (added), then "*** End Patch".

            Args:
                patch: The whole patch text.
            """
            return await patcher.on_invoke_tool(ctx, patch)

        @function_tool(failure_error_function=_as_tool_result)
        async def run_tests() -> str:
            """Run the project's tests; returns the exit code and the test output."""
            tests = await temporal_sandbox_client(TEST_RUNNER, test_run_config(self.test_run_seconds)).resume(
                session.state)
            try:
                ran = await tests.exec(self.test_command, timeout=self.test_run_seconds)
            finally:
                await tests.shutdown()  # forget this session on the test runner's side (the workspace stays)
            output = (ran.stdout + ran.stderr).decode("utf-8", errors="replace")
            return f"exit code {ran.exit_code}\n{_tail(output)}"

        return [read_file, search, apply_patch, run_tests]

    async def instructions(self, manifest: Manifest) -> str | None:
        return (f"The project's tests run with `{self.test_command}` (the run_tests tool). Read before you edit, "
                "edit with apply_patch, and run the tests after every change.")  # fmt: skip
