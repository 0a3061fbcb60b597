"""The loop in Prefect, seen from outside: what a model's deployments are called
(`deployment_names`), the automations as code (`automations`) and deployment runs through
the Prefect API for the `retrain` command line (`runs`)."""
