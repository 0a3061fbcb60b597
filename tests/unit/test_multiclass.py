"""Multi-class models: what cannot work is refused before any fit (config, validation, the
training window), string labels are kept as text, and monitoring reports per-class figures."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest

from retrain.config import ConfigError, DriftThresholds, ModelConfig, parse_config
from retrain.data.validation import capture_schema, validate_window
from retrain.decisions import tournament
from retrain.drift.reference import compute_reference_stats
from retrain.monitoring.class_outputs import class_figures, proba_columns
from retrain.monitoring.metric_set import ChampionFacts, champion_outputs, monitor_window
from retrain.monitoring.quality import classification_quality
from retrain.training import pipeline as training
from retrain.training.pipeline import build_pipeline, features, mask_immature_labels, target
from tests.helpers import config_dict, merge, typed_record

AS_OF = date(2024, 3, 1)
NAMES = np.array(["high", "low", "mid"])


def _config(**overrides: Any) -> ModelConfig:
    raw = merge(config_dict("mc", "bucket-x", "p"), {"windows": {"holdout_days": 2}})
    del raw["windows"]["training_days"]
    raw["training"] = {"candidates": [{"days": 20}], "validation_days": 0}
    return parse_config(merge(raw, overrides))


def _frame(days: int, rows: int = 200, classes: np.ndarray = NAMES) -> pd.DataFrame:
    frames = []
    first = AS_OF - timedelta(days=days)
    for i in range(days):
        day = first + timedelta(days=i)
        rng = np.random.default_rng(day.toordinal())
        x = rng.normal(0, 1, (rows, 2))
        logits = x @ np.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]]).T
        logits += rng.normal(0, 0.5, (rows, 3))
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        frames.append(
            pd.DataFrame(
                {
                    "event_id": [f"{day}-{j}" for j in range(rows)],
                    "event_time": start
                    + pd.to_timedelta(np.sort(rng.integers(0, 86400, rows)), "s"),
                    "x1": x[:, 0],
                    "x2": x[:, 1],
                    "segment": rng.choice(["a", "b", "c"], rows).astype(object),
                    "label": classes[logits.argmax(axis=1)].astype(object),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


@pytest.mark.parametrize(
    ("metric", "classes", "hint"),
    [("roc_auc", 3, "roc_auc_ovr"), ("f1", ["a", "b", "c"], "f1_macro")],
)
def test_binary_only_metric_with_more_classes_is_a_config_error(
    metric: str, classes: Any, hint: str
) -> None:
    with pytest.raises(ConfigError) as err:
        _config(metric=metric, classes=classes)
    message = str(err.value)
    assert f"metric {metric!r} needs a binary label but classes declares 3 classes" in message
    assert "column 'label'" in message and hint in message


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"classes": 1}, "at least 2 classes"),
        ({"classes": ["a", "a"]}, "repeat a class"),
        ({"metric": "log_loss", "estimator": {"class_path": "sklearn.svm.LinearSVC"}}, "log_loss"),
    ],
)
def test_other_class_config_errors_name_the_field(overrides: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        _config(**overrides)


@pytest.mark.parametrize(
    "metric",
    [
        "accuracy",
        "f1_macro",
        "f1_weighted",
        "precision_macro",
        "recall_macro",
        "log_loss",
        "roc_auc_ovr",
    ],
)
def test_multiclass_metrics_load_with_three_classes(metric: str) -> None:
    config = _config(metric=metric, classes=["high", "low", "mid"])
    assert config.metric == metric and config.higher_is_better is (metric != "log_loss")


def _validate(frame: pd.DataFrame, config: ModelConfig, schema: Any = None) -> Any:
    return validate_window(
        frame,
        config.columns,
        config.thresholds,
        schema,
        task="classification",
        metric=config.metric,
        classes=config.classes if isinstance(config.classes, list) else None,
    )


def test_three_label_values_for_a_binary_metric_is_a_validation_error() -> None:
    report = _validate(_frame(3), _config(metric="roc_auc"))
    assert not report.valid and report.reasons() == ["label_not_binary:label"]
    (problem,) = [p for p in report.problems if p.code == "label_not_binary"]
    assert problem.message == (
        "metric 'roc_auc' needs a binary label but column 'label' holds 3 values "
        "['high', 'low', 'mid']; use a multi-class metric (f1_macro, roc_auc_ovr, accuracy, ...)"
    )


def test_f1_on_labels_not_coded_0_1_is_a_validation_error() -> None:
    frame = _frame(3, classes=np.array(["no", "yes", "yes"]))
    report = _validate(frame, _config(metric="f1"))
    (problem,) = [p for p in report.problems if p.code == "label_not_binary"]
    assert "metric 'f1' needs labels coded 0/1" in problem.message
    assert "column 'label' holds ['no', 'yes']" in problem.message


def test_an_unseen_class_is_named() -> None:
    frame = _frame(3)
    frame.loc[:4, "label"] = "extreme"
    declared = _validate(frame, _config(metric="f1_macro", classes=["high", "low", "mid"]))
    assert declared.reasons() == ["unseen_class:label"]
    assert "holds classes ['extreme'] outside the declared classes" in declared.problems[-1].message
    schema = capture_schema(_frame(3), _config().columns, task="classification")
    trained = _validate(frame, _config(metric="f1_macro"), schema)
    assert trained.valid  # a class the champion never saw is a warning: a retrain learns it
    (problem,) = [p for p in trained.problems if p.code == "unseen_class"]
    assert problem.severity == "warning" and "champion's training labels" in problem.message


def test_no_fit_starts_before_the_training_window_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fits: list[Any] = []
    monkeypatch.setattr(tournament, "fit_recipe", lambda *a, **k: fits.append(a))
    config = _config(metric="roc_auc")
    with pytest.raises(training.TrainingError) as err:
        tournament.run_tournament(_frame(30), config, AS_OF, None, {})
    assert "metric 'roc_auc' needs a binary label but column 'label' holds 3 values" in str(err)
    assert "in the training window" in str(err.value)
    assert fits == []


def test_string_labels_are_text_and_survive_masking() -> None:
    config = _config(metric="f1_macro")
    frame = _frame(3)
    masked = mask_immature_labels(frame, config, AS_OF)
    y = masked["label"]
    assert y.isna().sum() == 200 * config.windows.label_delay_days
    assert set(target(masked[y.notna()], config)) == set(NAMES)
    assert target(masked[y.notna()], config).dtype.kind == "U"


def _fitted(config: ModelConfig) -> tuple[Any, pd.DataFrame]:
    train = _frame(10)
    model = build_pipeline(config).fit(features(train, config), target(train, config))
    return model, train


def test_quality_of_a_multiclass_champion_matches_its_metrics() -> None:
    from sklearn.metrics import f1_score, log_loss, roc_auc_score

    config = _config(metric="f1_macro")
    model, _ = _fitted(config)
    window = _frame(3)
    y, proba = target(window, config), model.predict_proba(features(window, config))
    pred = model.classes_[proba.argmax(axis=1)]
    got = classification_quality(y, pred, None, proba, model.classes_)
    assert got.metrics["f1_macro"] == pytest.approx(f1_score(y, pred, average="macro"))
    assert got.metrics["log_loss"] == pytest.approx(log_loss(y, proba, labels=model.classes_))
    assert got.metrics["roc_auc_ovr"] == pytest.approx(
        roc_auc_score(y, proba, multi_class="ovr", labels=model.classes_)
    )
    for binary in ("f1", "roc_auc", "precision", "positive_rate_predicted"):
        assert got.metrics[binary] is None and binary in got.undefined


def test_per_class_figures_by_hand() -> None:
    labels = np.array(["a", "b", "c"])
    proba = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.3, 0.5], [0.6, 0.3, 0.1]])
    index = proba.argmax(axis=1)  # a b c a
    y = np.array(["a", "c", "c", None], dtype=object)
    known = np.array([True, True, True, False])
    got = class_figures(labels, proba, index, y, known, None, DriftThresholds())
    assert got.predicted_share == {"a": 0.5, "b": 0.25, "c": 0.25}
    assert got.actual_share == pytest.approx({"a": 1 / 3, "b": 0.0, "c": 2 / 3})
    assert got.recall == {"a": 1.0, "b": None, "c": 0.5}
    assert got.mean_confidence == pytest.approx(np.mean([0.7, 0.8, 0.5, 0.6]))
    assert got.probability_drift == {"a": None, "b": None, "c": None}


def test_monitoring_of_a_multiclass_champion_reports_classes_not_a_positive_rate() -> None:
    config = _config(metric="f1_macro")
    model, train = _fitted(config)
    trained = champion_outputs(model, train, config)
    assert trained.kind == "proba" and trained.proba is not None
    frame = {"x1": train["x1"], "x2": train["x2"], "segment": train["segment"]}
    frame |= {c: pd.Series(trained.proba[:, j]) for j, c in enumerate(proba_columns(NAMES))}
    stats = compute_reference_stats(frame, ["x1", "x2"], ["segment"], proba_columns(NAMES))
    window = mask_immature_labels(_frame(5), config, AS_OF)
    outputs = champion_outputs(model, window, config)
    facts = ChampionFacts(outputs, capture_schema(train, config.columns), train, stats)
    days = sorted({t.date() for t in window["event_time"]})
    monitoring = monitor_window(window, config, days, facts, None)
    figures = monitoring.classes
    assert figures is not None and figures.classes == ("high", "low", "mid")
    assert all(v is not None and v < 0.1 for v in figures.probability_drift.values())
    assert monitoring.predictions is not None and monitoring.predictions.positive_rate is None
    assert monitoring.predictions.mean_confidence == pytest.approx(figures.mean_confidence)
    flat = monitoring.flat_metrics()
    assert {f"classes/recall/{c}" for c in NAMES} <= set(flat)
    assert "predictions/positive_rate" not in flat
    assert flat["quality/f1_macro"] > 0.8


def test_per_class_figures_reach_prometheus_and_the_summary() -> None:
    from retrain.sinks.prometheus import window_samples
    from retrain.sinks.reporting import monitoring_lines

    config = _config(metric="f1_macro")
    labels = np.array(["a", "b"])
    figures = class_figures(
        labels,
        np.array([[0.9, 0.1], [0.3, 0.7]]),
        np.array([0, 1]),
        np.array(["a", "a"], dtype=object),
        np.array([True, True]),
        None,
        DriftThresholds(),
    )
    section = {"classes": asdict(figures)}
    samples = {
        s.labels["metric"]: s.value
        for s in window_samples(typed_record({"monitoring": section}), config)
        if s.name == "retrain_window_metric"
    }
    assert samples["classes/recall/a"] == 0.5 and "classes/recall/b" not in samples
    assert samples["classes/predicted_share/b"] == 0.5
    assert samples["classes/mean_confidence"] == pytest.approx(0.8)
    (line,) = [x for x in monitoring_lines(section) if x.startswith("- Classes")]
    assert "recall a 0.5" in line and "drifted: none" in line


def test_integer_classes_read_as_floats_are_not_unseen() -> None:
    config = _config(metric="accuracy")
    frame = _frame(3, classes=np.array([0, 1, 2]))
    schema = capture_schema(frame, config.columns, task="classification")  # '0', '1', '2'
    masked = mask_immature_labels(frame, config, AS_OF)  # floats 0.0, 1.0, 2.0 and nulls
    report = _validate(masked, _config(metric="accuracy", classes=[0, 1, 2]), schema)
    assert not [p for p in report.problems if p.code == "unseen_class"]
    masked.loc[0, "label"] = 3.0
    (problem,) = [p for p in _validate(masked, config, schema).problems if p.code == "unseen_class"]
    assert "['3.0'] outside the champion's training labels ['0', '1', '2']" in problem.message


def test_a_served_class_name_is_compared_as_text() -> None:
    from retrain.drift.reference import categorical_stats
    from retrain.monitoring.outputs import served_summary

    champion = np.array(["low", "mid", "high", "mid"])
    served = pd.Series(["low", "mid", "low", None], dtype=object)
    reference = categorical_stats(pd.Series(["low", "mid", "high"] * 50))
    got = served_summary("served", served, champion, True, reference, DriftThresholds())
    assert got.rows == 3 and got.agreement == pytest.approx(2 / 3) and got.mismatch
    assert got.drift is not None and got.drift_note is None
