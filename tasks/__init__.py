"""Prefect tasks over the plain functions in `retrain/`: retries, logging, caching."""
