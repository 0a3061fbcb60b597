"""Plain functions of the retraining loop: no Prefect, no I/O at import."""
