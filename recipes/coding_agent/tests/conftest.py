# The fixture the workflow tests use: a Temporal server of the test's own (recipes/core/testing.py).
from recipes.core.testing import env  # noqa: F401
