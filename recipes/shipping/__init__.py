"""Ship and operate: change an agent while runs are in flight, and see it run. See README.md."""
