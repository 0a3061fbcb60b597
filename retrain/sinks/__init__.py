"""Where a run's decision record goes: its S3/MLflow keys, history reads and markdown
summary (`reporting`), the run's MLflow run opened and given the record (`mlflow_run`),
Prefect events (`events`), notifications and the webhook message
(`notify`), Slack and email alerts (`alerts`), Prometheus samples and their push
(`prometheus`) and the Evidently UI snapshot and dashboard (`evidently_ui`)."""
