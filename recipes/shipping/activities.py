"""The screening step version 2 of the agent gains: a guardrail before a question reaches the model.

``screen_question`` refuses a question that carries personal data a model provider should not get
(an e-mail address, a phone number, a US social security number), and says which kind. It is an
activity rather than workflow code so it can grow into a call to a moderation API without another
change to the workflow's commands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from temporalio import activity

__all__ = ["ScreenVerdict", "screen_question"]

_PERSONAL = {
    "an e-mail address": re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+"),
    "a US social security number": re.compile(r"\b\d{3}-\d{2}-\d{4}\b"),
    "a phone number": re.compile(r"(?<!\d)(?:\+?1[ .-]?)?\(?\d{3}\)?[ .-]?\d{3}[ .-]?\d{4}(?!\d)"),
}


@dataclass
class ScreenVerdict:
    allowed: bool
    reason: str = ""


@activity.defn
async def screen_question(question: str) -> ScreenVerdict:
    """Refuse a question holding personal data; allow anything else."""
    for kind, pattern in _PERSONAL.items():
        if pattern.search(question):
            return ScreenVerdict(False, f"the question contains {kind}; remove it and ask again")
    return ScreenVerdict(True)
