"""Plain functions of the retraining loop: no Prefect, no I/O at import.

A package per stage, each saying in its __init__ what it owns: data/ (reading and validating
a window), drift/, monitoring/ (the window's metric set), decisions/ (policy, plan, gate,
tournament), training/, registry/ (MLflow), sinks/ (the record, events, alerts, Prometheus,
Evidently UI), operate/ (deployments, automations, runs), samples/ (data the loop never
reads). Cross-cutting modules stay here: config, settings, clients, errors, the run's record
and carrier (run_record, loop), budget, threads, metrics, headline, the command line (cli)."""
