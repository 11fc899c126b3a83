"""A workflow run's timeline from its event history: rows for each workflow task, activity attempt, timer,
signal, update and marker, and a Gantt-style matplotlib chart of them (notebooks 05, 06, 08, 10, 11)::

    python -m recipes.timeline.timeline run.json --out run.png
"""
