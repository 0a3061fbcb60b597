"""Which MLflow errors mean "no champion yet", asked of the real MLflow server."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from mlflow.exceptions import MlflowException

from retrain.registry import versions as registry

pytestmark = pytest.mark.integration


@pytest.fixture
def model_name(mlflow: Any) -> Iterator[str]:
    """A registered model with no versions and no alias, deleted afterwards."""
    name = f"lookup_{uuid.uuid4().hex[:8]}"
    mlflow.create_registered_model(name)
    yield name
    mlflow.delete_registered_model(name)


def test_a_model_that_does_not_exist_has_no_champion(mlflow: Any) -> None:
    assert registry.get_champion(mlflow, f"absent_{uuid.uuid4().hex[:8]}") is None


def test_a_model_without_the_alias_has_no_champion(mlflow: Any, model_name: str) -> None:
    assert registry.get_champion(mlflow, model_name) is None


def test_the_alias_is_found(mlflow: Any, model_name: str) -> None:
    experiment = mlflow.create_experiment(f"lookup-{uuid.uuid4().hex[:8]}")
    run = mlflow.create_run(experiment)
    version = mlflow.create_model_version(
        model_name, f"runs:/{run.info.run_id}/model", run_id=run.info.run_id, tags={"k": "v"}
    )
    mlflow.set_registered_model_alias(model_name, registry.CHAMPION, version.version)
    champion = registry.get_champion(mlflow, model_name)
    assert champion is not None
    assert (champion.version, champion.run_id, champion.tags) == ("1", run.info.run_id, {"k": "v"})


@pytest.mark.parametrize("name", ["a/b", ""])
def test_other_invalid_parameter_errors_are_raised(mlflow: Any, name: str) -> None:
    """MLflow answers these with INVALID_PARAMETER_VALUE too: they are errors, not bootstraps."""
    with pytest.raises(MlflowException) as err:
        registry.get_champion(mlflow, name)
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
