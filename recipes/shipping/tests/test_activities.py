"""The screening activity alone, with ``ActivityEnvironment`` (no server): personal data never reaches the
model, and the refusal says which kind it found."""

from __future__ import annotations

import pytest
from temporalio.testing import ActivityEnvironment

from recipes.shipping.activities import screen_question


@pytest.mark.asyncio
@pytest.mark.parametrize("question, kind", [
    ("Alerts near me? Write to ada@example.com", "an e-mail address"),
    ("Call me on (512) 555-0100 about the storm", "a phone number"),
    ("My SSN is 078-05-1120, any alerts in Texas?", "a US social security number"),
])  # fmt: skip
async def test_a_question_with_personal_data_is_refused_naming_what_it_holds(question, kind):
    verdict = await ActivityEnvironment().run(screen_question, question)
    assert not verdict.allowed and kind in verdict.reason, verdict


@pytest.mark.asyncio
async def test_a_plain_weather_question_is_allowed():
    verdict = await ActivityEnvironment().run(screen_question, "Any weather alerts in Texas for 2026?")
    assert verdict.allowed and not verdict.reason, verdict
