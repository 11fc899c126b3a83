# The fixture every test here uses: a Temporal server of the test's own (recipes/core/testing.py).
from recipes.core.testing import env  # noqa: F401
