"""The MLflow model registry: versions with tags, the `champion` alias, promotion and
rollback (`versions`), the registered model's page (`page`), approval requests
(`approval`), skops model I/O without pickle (`model_io`), a version's artifacts
loaded once per process (`version_cache`) and a champion's state and the archived
models built from them (`champions`)."""
