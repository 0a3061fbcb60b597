"""Prefect flows: wire tasks, hold no logic of their own."""
