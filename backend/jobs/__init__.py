"""The scheduler process: its lease, its job table and the list of jobs."""
