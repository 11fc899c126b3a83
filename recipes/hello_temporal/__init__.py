"""Hello Temporal: one workflow, one flaky activity, retries you can see.

Notebook 02 drives it; from two terminals::

    python -m recipes.hello_temporal.worker
    python -m recipes.hello_temporal.starter Ada
"""
