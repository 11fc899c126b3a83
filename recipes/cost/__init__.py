"""What durability costs: the same agent timed plain and as a workflow, the Temporal floor, throughput."""
