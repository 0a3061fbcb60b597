"""A monitored model, fully described by one YAML file, validated with pydantic."""

from __future__ import annotations

import hashlib
import importlib
import json
import re
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sklearn.base import is_classifier, is_regressor

from retrain import metrics

CLASSIFICATION_METRICS = {"roc_auc", "f1", "accuracy"}
CLASSIFICATION_METRICS |= {"f1_macro", "f1_weighted", "precision_macro", "recall_macro"}
CLASSIFICATION_METRICS |= {"log_loss", "roc_auc_ovr"}
REGRESSION_METRICS = {"rmse", "mae"}
NUMERIC_DRIFT_METHODS = {"wasserstein", "ks", "psi", "kl_div", "jensenshannon", "hellinger"}
CATEGORICAL_DRIFT_METHODS = {"jensenshannon", "chisquare", "z", "psi", "kl_div", "hellinger"}
DRIFT_METHODS = {"numeric": NUMERIC_DRIFT_METHODS, "categorical": CATEGORICAL_DRIFT_METHODS}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
_S3_PREFIX = re.compile(r"^[A-Za-z0-9!_.*'()/-]*$")


class ConfigError(ValueError):
    """A model config that cannot be used; the message names the file and the field."""


def check_drift_method(method: str, kind: str | None = None) -> str:
    """`method` if it is a known drift method (that applies to a `kind` column, when given)."""
    known = NUMERIC_DRIFT_METHODS | CATEGORICAL_DRIFT_METHODS
    if method not in known:
        raise ValueError(f"unknown method {method!r}; one of {sorted(known)}")
    if kind is not None and method not in DRIFT_METHODS[kind]:
        raise ValueError(
            f"method {method!r} does not apply to a {kind} column; "
            f"one of {sorted(DRIFT_METHODS[kind])}"
        )
    return method


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Task(StrEnum):
    classification = "classification"
    regression = "regression"


class Mode(StrEnum):
    auto = "auto"  # promote winners by moving the champion alias
    shadow = "shadow"  # run every step, record, never move an alias
    approval = "approval"  # register the gated challenger, a person promotes (docs/approval.md)


class DataSource(_Strict):
    bucket: str = Field(min_length=3, max_length=63, description="S3 bucket of production data.")
    prefix: str = Field(description="Key prefix above the dt=YYYY-MM-DD/ partitions.")
    format: Literal["parquet", "csv"] = Field(
        default="parquet", description="File format of the partitions' objects."
    )

    @field_validator("prefix")
    @classmethod
    def _safe_prefix(cls, v: str) -> str:
        v = v.strip("/")
        if not v or ".." in v.split("/") or not _S3_PREFIX.match(v):
            raise ValueError("must be a non-empty S3 key prefix without '..' segments")
        return v


class LabelFeed(_Strict):
    """Labels that land in their own feed, joined to the production rows by id (docs/labels.md):
    `s3://<bucket>/<prefix>/dt=YYYY-MM-DD/<file>` keyed by the day the labels arrived, one row
    per label (id, label, arrival time). A label counts as known at `as_of` only once it has
    arrived before `as_of`; a repeated id is a correction (the last arrival wins)."""

    prefix: str = Field(
        description="Key prefix above the feed's dt=YYYY-MM-DD/ partitions (day of arrival)."
    )
    bucket: str | None = Field(
        default=None,
        min_length=3,
        max_length=63,
        description="S3 bucket of the feed; data.bucket when unset.",
    )
    id: str | None = Field(
        default=None,
        description="The feed's id column, matched to columns.id (the same name when unset).",
    )
    label: str | None = Field(
        default=None, description="The feed's label column (columns.label when unset)."
    )
    arrived_at: str = Field(
        default="arrived_at",
        description="The feed's arrival timestamp column (UTC or ISO-8601; null: the partition's "
        "day). It replaces windows.label_delay_days in deciding whether a label is known.",
    )
    format: Literal["parquet", "csv"] = Field(default="parquet", description="The feed's files.")

    @field_validator("prefix")
    @classmethod
    def _safe_prefix(cls, v: str) -> str:
        return DataSource._safe_prefix(v)


class Columns(_Strict):
    """Which column of the production data is which."""

    id: str = Field(description="A unique id per row (repeats are a validation warning).")
    timestamp: str = Field(
        description="The event time: timezone-aware (converted to UTC) or naive (read as UTC)."
    )
    numeric: list[str] = Field(default_factory=list, description="Numeric feature columns.")
    categorical: list[str] = Field(
        default_factory=list, description="Categorical feature columns (compared as strings)."
    )
    label: str = Field(
        description="The label: 0/1 (1 positive) for classification, a number for regression; "
        "null until it is known."
    )
    prediction: str | None = Field(
        default=None,
        description="The prediction production served (optional): monitored for drift and for "
        "agreement with the champion's re-prediction.",
    )
    latency_ms: str | None = Field(
        default=None, description="Serving latency of each row in milliseconds (optional)."
    )
    error: str | None = Field(
        default=None,
        description="Whether serving the row failed (optional; true/1 = error, null = unknown).",
    )
    segment: str | None = Field(
        default=None,
        description="A categorical feature whose values the gate checks one by one "
        "(no segment may regress past thresholds.max_segment_regression).",
    )

    @property
    def features(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    @property
    def optional(self) -> list[str]:
        """The optional serving columns the config names: prediction, latency, error."""
        return [c for c in (self.prediction, self.latency_ms, self.error) if c]

    @model_validator(mode="after")
    def _distinct(self) -> Columns:
        if not self.features:
            raise ValueError("at least one numeric or categorical feature is required")
        named = [self.id, self.timestamp, self.label, *self.features, *self.optional]
        dupes = sorted({c for c in named if named.count(c) > 1})
        if dupes:
            raise ValueError(f"columns used twice: {dupes}")
        if self.segment is not None and self.segment not in self.categorical:
            raise ValueError(f"segment {self.segment!r} must be one of the categorical features")
        return self


class Estimator(_Strict):
    class_path: str = Field(description="Dotted path of a scikit-learn estimator class.")
    params: dict[str, Any] = Field(
        default_factory=dict, description="Keyword arguments of the estimator's constructor."
    )
    categorical_encoding: Literal["auto", "onehot", "native"] = Field(
        default="auto",
        description="How categoricals reach the estimator: native codes where it supports them "
        "(auto: HistGradientBoosting*), or one-hot.",
    )

    @field_validator("class_path")
    @classmethod
    def _importable(cls, v: str) -> str:
        module, _, name = v.rpartition(".")
        if not module.startswith("sklearn."):
            raise ValueError(f"{v!r} is not a scikit-learn class path (sklearn.<module>.<Class>)")
        try:
            klass = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as exc:
            raise ValueError(f"cannot import {v!r}: {exc}") from None
        if not (isinstance(klass, type) and hasattr(klass, "fit") and hasattr(klass, "predict")):
            raise ValueError(f"{v!r} is not a predictor (a class with fit and predict)")
        return v

    def build(self) -> Any:
        """Instantiate the estimator with its parameters."""
        module, _, name = self.class_path.rpartition(".")
        return getattr(importlib.import_module(module), name)(**self.params)


class Windows(_Strict):
    """Days of data each step reads, counted back from the run's `as_of` (excluded)."""

    monitoring_days: int = Field(
        default=7, ge=1, le=366, description="Days a run monitors: the window before as_of."
    )
    training_days: int = Field(
        default=60,
        ge=2,
        le=3660,
        description="Days a retrain reads when training.candidates is empty (one recipe), "
        "holdout and label delay included.",
    )
    holdout_days: int = Field(
        default=7,
        ge=1,
        le=366,
        description="The newest days with matured labels, on which the gate scores champion "
        "and challenger.",
    )
    label_delay_days: int = Field(
        default=1,
        ge=0,
        le=366,
        description="Days after an event before its label counts as known: labels of newer "
        "events are masked even when present.",
    )

    @model_validator(mode="after")
    def _usable(self) -> Windows:
        if self.label_delay_days >= self.monitoring_days:
            raise ValueError(
                f"label_delay_days ({self.label_delay_days}) must be smaller than monitoring_days "
                f"({self.monitoring_days}): no label in a window would ever mature, so every run "
                "would skip"
            )
        if self.training_days <= self.holdout_days + self.label_delay_days:
            raise ValueError(
                f"training_days ({self.training_days}) must exceed holdout_days + "
                f"label_delay_days ({self.holdout_days} + {self.label_delay_days}): nothing would "
                "be left to train on, so every retrain would fail"
            )
        return self


class Recipe(_Strict):
    """One way to train a candidate: the last `days` days of matured labels, optionally with
    sample weights that halve every `half_life_days` (older rows count less)."""

    days: int = Field(ge=2, le=3660, description="Days of matured history to fit on.")
    half_life_days: int | None = Field(
        default=None, ge=1, le=3660, description="Sample weights halve every this many days."
    )

    @property
    def name(self) -> str:
        return f"{self.days}d" + (f"-h{self.half_life_days}" if self.half_life_days else "")


class Training(_Strict):
    """The candidate tournament a retrain runs, and the refit of its winner."""

    candidates: list[Recipe] = Field(
        default_factory=list,
        description="Training recipes that compete; the first is the default. Empty: one "
        "recipe of windows.training_days less the holdout and label delay.",
    )
    validation_days: int = Field(
        default=0,
        ge=0,
        le=366,
        description="Days before the holdout on which candidates are compared (0: choose the "
        "first recipe without comparing).",
    )
    archived_versions: int = Field(
        default=0,
        ge=0,
        le=20,
        description="Past champions that compete without a fit (a recurring concept).",
    )
    refit: bool = Field(
        default=True,
        description="Fit the gated recipe again on its window including the holdout before "
        "registering, so the served model has seen the newest labels.",
    )
    max_rows: int = Field(
        default=2_000_000,
        ge=1000,
        le=100_000_000,
        description="A fit uses at most this many rows: the most recent matured rows of its "
        "recipe's window (older ones are left out, so a huge window trains in bounded memory).",
    )

    @field_validator("candidates")
    @classmethod
    def _distinct(cls, v: list[Recipe]) -> list[Recipe]:
        names = [r.name for r in v]
        if len(set(names)) != len(names):
            raise ValueError(f"candidates repeat a recipe: {names}")
        return v


class Scale(_Strict):
    """How a big window is processed: in chunks of rows, so memory stays bounded."""

    predict_chunk_rows: int = Field(
        default=50_000,
        ge=1000,
        le=10_000_000,
        description="The monitoring window is read, summarised and scored by the champion "
        "this many rows at a time (once per run; every step reads those outputs).",
    )


class ColumnDrift(_Strict):
    """The drift test of one column, overriding the default for its kind."""

    method: str = Field(description="A drift method that applies to the column's kind.")
    threshold: float = Field(gt=0, le=1, description="The column drifts at or above this score.")

    @field_validator("method")
    @classmethod
    def _known(cls, v: str) -> str:
        return check_drift_method(v)


class DriftThresholds(_Strict):
    numeric_method: str = Field(
        default="wasserstein",
        description="Drift method of numeric columns: wasserstein (normed by the reference "
        "std), ks, psi, kl_div, jensenshannon or hellinger.",
    )
    numeric_threshold: float = Field(
        default=0.1, gt=0, le=1, description="A numeric column drifts at or above this score."
    )
    categorical_method: str = Field(
        default="jensenshannon",
        description="Drift method of categorical columns: jensenshannon, chisquare, z, psi, "
        "kl_div or hellinger.",
    )
    categorical_threshold: float = Field(
        default=0.1, gt=0, le=1, description="A categorical column drifts at or above this score."
    )
    per_column: dict[str, ColumnDrift] = Field(
        default_factory=dict, description="Method and threshold of single feature columns."
    )
    dataset_share: float = Field(
        default=0.5, gt=0, le=1, description="Share of drifted columns that makes dataset drift."
    )
    persistence_k: int = Field(default=2, ge=1, description="Drift in k of the last n windows.")
    persistence_n: int = Field(
        default=3, ge=1, description="The n of persistence_k: windows of the current champion."
    )
    reference_rows: int = Field(
        default=5000,
        ge=100,
        le=1_000_000,
        description="Rows of the champion's training data kept as the drift reference sample.",
    )
    report_rows: int = Field(
        default=10_000,
        ge=100,
        le=1_000_000,
        description="Window rows (a random sample) the Evidently HTML/JSON report is built on; "
        "every verdict comes from the full window's statistics.",
    )
    target_drift_trigger: bool = Field(
        default=False,
        description="Retrain when the label's distribution drifts (a concept change the "
        "features do not show); cooldown still applies.",
    )

    @field_validator("numeric_method")
    @classmethod
    def _numeric(cls, v: str) -> str:
        return check_drift_method(v, "numeric")

    @field_validator("categorical_method")
    @classmethod
    def _categorical(cls, v: str) -> str:
        return check_drift_method(v, "categorical")

    @model_validator(mode="after")
    def _k_of_n(self) -> DriftThresholds:
        if self.persistence_k > self.persistence_n:
            raise ValueError("persistence_k must not exceed persistence_n")
        return self


class Thresholds(_Strict):
    """When to retrain, when to promote, when to refuse the data."""

    drift: DriftThresholds = Field(
        default_factory=DriftThresholds, description="Drift tests and when drift triggers."
    )
    performance_drop: float = Field(
        default=0.03,
        ge=0,
        description="Retrain when the champion's metric on the window is this much worse than "
        "the bar: the best holdout score of the champion and of the challengers of the last "
        "reference_windows windows.",
    )
    min_gain: float = Field(default=0.005, ge=0, description="Challenger must win by this much.")
    absolute_floor: float | None = Field(
        default=None, description="Challenger must score at least (or at most, for errors) this."
    )
    estimated_floor: float | None = Field(
        default=None,
        description="Retrain when even the optimistic end (value + 2 SE; - 2 SE for an error "
        "metric) of the champion's estimated metric on rows whose labels are not yet due (CBPE, "
        "classification) is past this floor; off when unset. Cooldown applies.",
    )
    min_labelled_rows: int = Field(
        default=200, ge=1, description="Fewer matured labels in a window: skip (too_few_labels)."
    )
    min_rows: int = Field(default=100, ge=1, description="Fewer rows in a window is invalid data.")
    max_null_rate: float = Field(
        default=0.5, ge=0, le=1, description="A feature with more nulls is invalid data."
    )
    max_null_rate_increase: float = Field(
        default=0.2,
        ge=0,
        le=1,
        description="A feature whose null rate rose more than this over training is invalid data.",
    )
    max_unseen_category_share: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="A categorical column with a larger share of values unseen in training is "
        "invalid data (below it, a warning).",
    )
    cooldown_days: int = Field(
        default=7,
        ge=0,
        description="No trigger within this many days of a promotion (below_floor excepted).",
    )
    bootstrap_resamples: int = Field(
        default=500, ge=50, le=100_000, description="Resamples of the gate's paired bootstrap."
    )
    bootstrap_alpha: float = Field(
        default=0.05, gt=0, lt=0.5, description="Two-sided level of the bootstrap intervals."
    )
    max_window_rows: int = Field(
        default=5_000_000,
        ge=1000,
        description="Refuse larger windows (a guard against a wrong prefix; the monitoring "
        "window is read in batches whatever its size, a training window whole).",
    )
    gate_mode: Literal["superiority", "non_inferiority"] = Field(
        default="superiority",
        description="superiority: the challenger must win by min_gain, with a bootstrap interval "
        "above 0; non_inferiority: a fresher model is promoted unless it is worse than the "
        "champion by more than non_inferiority_margin (bootstrap interval above -margin).",
    )
    non_inferiority_margin: float = Field(
        default=0.01,
        ge=0,
        le=1,
        description="non_inferiority: how much worse than the champion a challenger may be.",
    )
    max_segment_regression: float | None = Field(
        default=None, ge=0, description="No segment (columns.segment) may lose more than this."
    )
    min_segment_rows: int = Field(default=200, ge=10, description="Smaller segments not judged.")
    max_model_age_days: int | None = Field(
        default=None, ge=1, description="Retrain when the champion is this many days old."
    )
    reference_windows: int = Field(
        default=4,
        ge=0,
        le=52,
        description="performance_drop is measured from the best holdout score of the champion "
        "and of the challengers of this many recent windows: a weak champion never lowers the bar.",
    )


class Alerts(_Strict):
    """Where a run's events (drift, retrain, promotion, rejected, failure, attention) go, as
    names of Prefect blocks saved on the Prefect server (prefect-slack, prefect-email)."""

    slack_webhook_block: str | None = Field(
        default=None, description="Name of a prefect-slack `SlackWebhook` block."
    )
    email_credentials_block: str | None = Field(
        default=None, description="Name of a prefect-email `EmailServerCredentials` block."
    )
    email_to: list[str] = Field(default_factory=list, description="Recipients of the emails.")
    email_from: str | None = Field(
        default=None, description="Sender address; the block's username when unset."
    )

    @model_validator(mode="after")
    def _email_has_recipients(self) -> Alerts:
        if self.email_credentials_block and not self.email_to:
            raise ValueError("email_credentials_block needs at least one address in email_to")
        return self


class Approval(_Strict):
    """How long a challenger waits for a person in `mode: approval` (docs/approval.md)."""

    expires_after_hours: float = Field(
        default=72.0,
        gt=0,
        le=24 * 90,
        description="A pending request not answered within this many hours is closed as "
        "expired (rejected, recorded, notified); the champion stays.",
    )


class ModelConfig(_Strict):
    name: str = Field(description="Registered model name in MLflow.")
    description: str = Field(
        default="", description="What the model predicts (the registered model's description)."
    )
    data: DataSource = Field(description="Where the production data lands in S3.")
    columns: Columns = Field(description="Which column is which.")
    task: Task = Field(description="classification or regression.")
    metric: str = Field(
        description="The metric every decision uses. Classification: roc_auc, f1 (binary only), "
        "accuracy, f1_macro, f1_weighted, precision_macro, recall_macro, log_loss, roc_auc_ovr; "
        "regression: rmse, mae."
    )
    classes: int | list[str | int] | None = Field(
        default=None,
        description="Classification: the classes the label takes, as a list (validation names a "
        "label outside it) or a count; more than 2 refuses a binary-only metric (roc_auc, f1).",
    )
    estimator: Estimator = Field(description="The scikit-learn estimator a retrain fits.")
    windows: Windows = Field(default_factory=Windows, description="Days each step reads.")
    training: Training = Field(
        default_factory=Training, description="The recipes a retrain compares, and the refit."
    )
    thresholds: Thresholds = Field(
        default_factory=Thresholds, description="When to retrain, promote or refuse the data."
    )
    scale: Scale = Field(default_factory=Scale, description="How a big window is processed.")
    mode: Mode = Field(
        default=Mode.auto,
        description="auto: the gate promotes; shadow: run every step, never move an alias; "
        "approval: the gated challenger waits for a person (docs/approval.md).",
    )
    schedule: str | None = Field(default=None, description="Cron schedule of the loop.")
    alerts: Alerts = Field(
        default_factory=Alerts, description="Prefect blocks that receive the run's events."
    )
    approval: Approval = Field(
        default_factory=Approval, description="How long a challenger waits in mode: approval."
    )
    labels: LabelFeed | None = Field(
        default=None,
        description="A label feed of its own (optional); unset: labels are in the data files.",
    )

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError("must be 1-63 letters, digits, '_', '-' or '.'")
        return v

    @model_validator(mode="after")
    def _metric_fits_task(self) -> ModelConfig:
        allowed = CLASSIFICATION_METRICS if self.task is Task.classification else REGRESSION_METRICS
        if self.metric not in allowed:
            raise ValueError(
                f"metric {self.metric!r} is not one of {sorted(allowed)} for {self.task}"
            )
        self._metric_fits_classes()
        per_column = self.thresholds.drift.per_column
        unknown = set(per_column) - set(self.columns.features)
        if unknown:
            raise ValueError(
                f"thresholds.drift.per_column names unknown features {sorted(unknown)}"
            )
        for column, drift in per_column.items():
            kind = "numeric" if column in self.columns.numeric else "categorical"
            try:
                check_drift_method(drift.method, kind)
            except ValueError as exc:
                raise ValueError(f"thresholds.drift.per_column.{column}.method: {exc}") from None
        return self

    def _metric_fits_classes(self) -> None:
        if self.classes is None:
            return
        if self.task is not Task.classification:
            raise ValueError(f"classes is for classification, not {self.task}")
        count = self.classes if isinstance(self.classes, int) else len(self.classes)
        if isinstance(self.classes, list) and len({str(c) for c in self.classes}) != count:
            raise ValueError(f"classes repeat a class: {self.classes}")
        if count < 2:
            raise ValueError(f"classes must name at least 2 classes, got {self.classes}")
        if count > 2 and self.metric in metrics.BINARY_ONLY:
            multi = "f1_macro" if self.metric == "f1" else "roc_auc_ovr"
            raise ValueError(
                f"metric {self.metric!r} needs a binary label but classes declares {count} "
                f"classes for column {self.columns.label!r}; use {multi!r} (or accuracy, "
                "f1_weighted, precision_macro, recall_macro, log_loss)"
            )

    @model_validator(mode="after")
    def _estimator_fits_task(self) -> ModelConfig:
        path = self.estimator.class_path
        try:
            estimator = self.estimator.build()
        except TypeError as exc:
            raise ValueError(f"estimator.params do not fit {path}: {exc}") from None
        fits = is_classifier if self.task is Task.classification else is_regressor
        if not fits(estimator):
            raise ValueError(f"estimator.class_path {path} is not a {self.task} estimator")
        native = "categorical_features" in estimator.get_params()
        if self.estimator.categorical_encoding == "native" and not native:
            raise ValueError(
                f"estimator.categorical_encoding native: {path} has no native categorical support"
            )
        if self.metric in metrics.PROBABILITY_METRICS and not hasattr(estimator, "predict_proba"):
            raise ValueError(
                f"estimator.class_path {path} has no predict_proba, needed by {self.metric}"
            )
        return self

    @model_validator(mode="after")
    def _recipes_fit(self) -> ModelConfig:
        if self.training.candidates and "training_days" in self.windows.model_fields_set:
            raise ValueError(
                "set either windows.training_days (one recipe) or training.candidates, not both"
            )
        if self.training.archived_versions and not self.training.validation_days:
            raise ValueError(
                "training.archived_versions needs training.validation_days > 0 to compare them"
            )
        return self

    @model_validator(mode="after")
    def _feed_apart(self) -> ModelConfig:
        feed = self.labels
        if feed is not None and (feed.bucket or self.data.bucket, feed.prefix) == (
            self.data.bucket,
            self.data.prefix,
        ):
            raise ValueError("labels.prefix must differ from data.prefix (the feed's own files)")
        return self

    @property
    def recipes(self) -> list[Recipe]:
        """The candidate recipes, the default first."""
        if self.training.candidates:
            return list(self.training.candidates)
        w = self.windows
        return [Recipe(days=w.training_days - w.holdout_days - w.label_delay_days)]

    @property
    def higher_is_better(self) -> bool:
        return metrics.higher_is_better(self.metric)

    def config_hash(self) -> str:
        """A short stable hash of the validated config, tagged on every model version; where
        alerts go and how long an approval waits change no decision, so they are left out; the
        optional fields added later (labels, classes) count only when set, so older hashes hold."""
        unset = {k for k in ("labels", "classes") if getattr(self, k) is None}
        exclude = {"alerts", "approval", *unset}
        blob = json.dumps(self.model_dump(mode="json", exclude=exclude), sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _format_errors(source: str, exc: ValidationError) -> str:
    lines = [f"invalid model config {source}:"]
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(root)"
        lines.append(f"  {loc}: {err['msg']}")
    return "\n".join(lines)


def parse_config(raw: dict[str, Any], source: str = "<dict>") -> ModelConfig:
    """Validate a config mapping; errors name the source and each bad field."""
    try:
        return ModelConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_format_errors(source, exc)) from None


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses a key repeated in one mapping (YAML keeps the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *anchor` may be overridden
                continue
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                continue
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"found duplicate key {key!r}",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_config(path: str | Path) -> ModelConfig:
    """Read and validate one model's YAML config file."""
    path = Path(path)
    try:
        raw = yaml.load(path.read_text(), Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except FileNotFoundError:
        raise ConfigError(f"model config {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read model config {path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML in {path}: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"model config {path} must be a mapping, got {type(raw).__name__}")
    return parse_config(raw, str(path))
