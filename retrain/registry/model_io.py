"""Log scikit-learn models to MLflow with skops and load them back without pickle.

MLflow's own skops loader trusts the type list stored inside the model's MLmodel file, so a
crafted artifact could whitelist anything. Here the allow-list is the project's: a model loads
only when every type skops would need to trust belongs to these packages.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    from mlflow import MlflowClient

TRUSTED_PREFIXES = ("sklearn.", "numpy.", "scipy.", "builtins.", "collections.", "_operator.")
# HistGradientBoosting with native categoricals keeps functools.partial(check_array, ...): skops
# checks the wrapped function as a type of its own, so trusting the wrapper alone is safe.
TRUSTED_EXACT = frozenset({"functools.partial"})
MODEL_FILE = "model.skops"


class UntrustedModelError(RuntimeError):
    """A model artifact asks to trust a type outside the allow-list."""


def untrusted_types(path: Path) -> list[str]:
    """Types skops would have to trust to load `path` that fall outside the allow-list."""
    import skops.io

    return outside_allow_list(skops.io.get_untrusted_types(file=path))


def outside_allow_list(types: list[str]) -> list[str]:
    """The types skops lists that the project does not trust."""
    return [t for t in types if not (t.startswith(TRUSTED_PREFIXES) or t in TRUSTED_EXACT)]


def log_sklearn_model(
    client: MlflowClient,
    run_id: str,
    model: Any,
    path: str = "model",
    input_example: pd.DataFrame | None = None,
) -> str:
    """Save a fitted estimator with skops (no pickle) into a run's artifacts; returns its URI.

    With an input example (a few rows of features), the model also carries it and the
    signature inferred from it and the model's predictions on it."""
    import mlflow.sklearn
    import skops.io

    types = skops.io.get_untrusted_types(data=skops.io.dumps(model))
    outside = outside_allow_list(types)
    if outside:
        raise UntrustedModelError(f"model uses types outside the allow-list: {outside}")
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(tmp) / path
        mlflow.sklearn.save_model(
            model,
            str(local),
            serialization_format="skops",
            skops_trusted_types=types,
            pip_requirements=_requirements(),
            signature=None if input_example is None else model_signature(model, input_example),
            input_example=input_example,
        )
        client.log_artifacts(run_id, str(local), path)
    return f"runs:/{run_id}/{path}"


def model_signature(model: Any, example: pd.DataFrame) -> Any:
    """The signature inferred from the example and the model's predictions on it, every input
    column required (the pipeline needs them all; a null value is imputed, not a missing column)."""
    from mlflow.models import ModelSignature, infer_signature
    from mlflow.types.schema import ColSpec, Schema

    inferred = infer_signature(example, model.predict(example))
    columns: list[Any] = [ColSpec(c.type, c.name, required=True) for c in inferred.inputs.inputs]
    return ModelSignature(inputs=Schema(columns), outputs=inferred.outputs)


def _requirements() -> list[str]:
    from importlib.metadata import version

    return [f"scikit-learn=={version('scikit-learn')}", f"skops=={version('skops')}"]


def load_sklearn_model(model_uri: str) -> Any:
    """Download a skops-serialised model and load it with the project's allow-list."""
    import mlflow.artifacts
    import skops.io

    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri))
    path = local / MODEL_FILE if local.is_dir() else local
    if not path.exists():
        raise UntrustedModelError(f"{model_uri} has no {MODEL_FILE}: not a skops model, refused")
    outside = untrusted_types(path)
    if outside:
        raise UntrustedModelError(f"{model_uri} asks to trust {outside}; refused")
    return skops.io.load(path, trusted=skops.io.get_untrusted_types(file=path))
