"""The model step ``ci/bench_payloads.py`` times: a conversation of a given size in, a few bytes out.

A model call's input is the whole conversation so far (it grows with every tool result); its
output is small. ``PayloadStepWorkflow`` runs ``steps`` such calls (the activity ``model_step``)
with a conversation of ``size`` bytes, so what a codec or a payload store adds to one call can
be timed apart from everything else an agent does.

The conversation is made inside the workflow, not passed in: a workflow's input is a payload
too, and would be timed with it. It is text (words in a fixed pseudo-random order, as
compressible as prose, so gRPC's gzip does for it what it does for a real conversation), and
each step's differs in its first line, as a growing conversation does: a content-addressed
store writes every step's, instead of finding the first one's again.
"""

from __future__ import annotations

import random
from datetime import timedelta

from temporalio import activity, workflow

#: About as compressible as a conversation (gzip to ~25%); the 6,000-word block (~39 KB) repeats
#: beyond gzip's 32 KB window, so a long conversation is no cheaper to compress than a short one.
_WORDS = """the a an and or but if then when while of in on at to for from with about into over after before under
alert alerts storm storms warning warnings watch advisory county counties until wind winds flood flooding heat
snow rain ice fog fire smoke coastal marine river tornado thunderstorm hurricane tropical freeze frost
national weather service issued expires effective urgency severity certainty expected likely possible
severe moderate minor extreme immediate gusts mph inches feet degrees miles north south east west central
tool call result model user assistant asked says answer question state code summary latest headline event
residents should travel avoid remain indoors monitor conditions updates local officials emergency roads""".split()
_BLOCK = " ".join(random.Random(0).choices(_WORDS, k=6000))


def conversation(size: int, first_line: str) -> str:
    """``size`` characters of conversation-like text (ASCII: as many bytes) opening with ``first_line``."""
    head = first_line + "\n"
    body = _BLOCK * (max(0, size - len(head)) // len(_BLOCK) + 1)
    return (head + body)[:size]


@activity.defn
async def model_step(conversation: str) -> int:
    """Stands in for a model call: reads the whole conversation, answers with a few bytes."""
    return len(conversation)


@workflow.defn
class PayloadStepWorkflow:
    """``steps`` model steps, each given a conversation of ``size`` bytes; returns the bytes read."""

    @workflow.run
    async def run(self, size: int, steps: int) -> int:
        read = 0
        for step in range(steps):
            text = conversation(size, f"run {workflow.info().run_id}, step {step}")
            read += await workflow.execute_activity(model_step, text, start_to_close_timeout=timedelta(seconds=30))
        return read
