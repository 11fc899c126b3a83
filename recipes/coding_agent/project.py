"""The project the agent works on: a few files, a test command, and the task that names them.

``CodingTask`` is the workflow's input. Its files become the sandbox's workspace (a ``Manifest``
of ``File`` entries, written by the sandbox's ``start`` activity on the worker), so the workflow
history holds the project as it was given, and the workspace itself lives on the worker's disk.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agents.sandbox import Manifest
from agents.sandbox.entries import File

PRICING = '''\
"""Prices for a small shop."""


def apply_discount(price: float, percent: float) -> float:
    """The price after a discount of ``percent`` per cent."""
    return round(price - price * percent / 10, 2)


def total(prices: list[float]) -> float:
    """The sum of ``prices``, to the cent."""
    return round(sum(prices), 2)
'''

TEST_PRICING = '''\
import unittest

from pricing import apply_discount, total


class PricingTest(unittest.TestCase):
    def test_twenty_percent_off(self):
        self.assertEqual(apply_discount(100.0, 20), 80.0)

    def test_no_discount(self):
        self.assertEqual(apply_discount(19.99, 0), 19.99)

    def test_total(self):
        self.assertEqual(total([1.25, 2.5]), 3.75)


if __name__ == "__main__":
    unittest.main()
'''

#: A small project with one bug: a discount divides by 10 where it means per cent.
SAMPLE_FILES = {"pricing.py": PRICING, "test_pricing.py": TEST_PRICING}
#: Run in the workspace root by the sandbox (stdlib only: the project needs nothing installed).
SAMPLE_TEST_COMMAND = "python3 -m unittest -v"
SAMPLE_QUESTION = ("test_pricing.py fails: a discount is worked out with `percent / 10` where it means "
                   "`percent / 100`. Fix the code and run the tests.")  # fmt: skip


@dataclass
class CodingTask:
    """What the agent is asked, and the project it works in.

    ``test_run_seconds`` bounds one run of ``test_command``: the sandbox stops the command then, and
    Temporal gives up on the attempt a little later (see :mod:`recipes.coding_agent.tools`).
    ``environment`` is set for every command the sandbox runs (and nothing else of the worker's is).
    ``max_turns`` bounds the model calls of the run (the Agents SDK fails it beyond that).
    """

    question: str = SAMPLE_QUESTION
    files: dict[str, str] = field(default_factory=lambda: dict(SAMPLE_FILES))
    test_command: str = SAMPLE_TEST_COMMAND
    test_run_seconds: float = 120.0
    environment: dict[str, str] = field(default_factory=dict)
    max_turns: int = 10

    def manifest(self) -> Manifest:
        """The sandbox workspace: one file entry per file. The root is left to the sandbox client
        (a fresh temporary directory per run, which it deletes when the run ends)."""
        return Manifest(
            entries={path: File(content=text.encode()) for path, text in self.files.items()},
            environment={"value": self.environment},
        )
