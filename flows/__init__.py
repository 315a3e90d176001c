"""Prefect flows: thin wrappers that call the AlphaPulse library and nothing else."""
