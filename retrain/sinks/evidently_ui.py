"""A run's window as a snapshot in the Evidently UI: one project per model, one snapshot per
window (timestamped with the window end), and the project's dashboard of those snapshots.

The snapshot is an Evidently report over one row holding the window's figures from the decision
record (the project's own drift measures on the full window, the champion's metric on matured
labels, the row counts), one `MeanValue` metric per figure, so the dashboard's panels plot each
figure over time. Writes go through the UI's HTTP API (`RemoteWorkspace`), so the flow may run
on another machine than the UI.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from retrain.run_record import RunRecord

if TYPE_CHECKING:  # importing evidently takes seconds
    from evidently.sdk.models import DashboardModel

DRIFT_SHARE = "drift_share"
DRIFTED_COLUMNS = "drifted_columns"
ROWS = "rows"
LABELLED_ROWS = "labelled_rows"
TAB = "Monitoring"


class EvidentlyUIError(RuntimeError):
    """The Evidently UI did not take the window (unreachable, or an error answer)."""


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def window_values(record: RunRecord, metric: str) -> dict[str, float]:
    """The window's figures from a decision record, keyed by the snapshot's column names;
    what the record lacks (no champion, no drift measured) is left out."""
    drift, window, champion = record.drift, record.window, record.champion
    found: dict[str, Any] = {
        DRIFT_SHARE: drift.drift_share if drift else None,
        DRIFTED_COLUMNS: len(drift.drifted_columns) if drift else None,
        metric: champion.metric_now if champion else None,
        ROWS: window.rows if window else None,
        LABELLED_ROWS: window.labelled_rows if window else None,
    }
    return {k: n for k, v in found.items() if (n := _number(v)) is not None}


def window_end(record: RunRecord) -> datetime:
    """The window's end (exclusive), midnight UTC as a naive datetime (Evidently's timestamps)."""
    return datetime.fromisoformat(record.as_of.isoformat())


def snapshot_name(record: RunRecord) -> str:
    decision = record.decision.action or record.status
    return f"window ending {record.as_of} ({record.mode}): {decision}"


def dashboard(metric: str) -> DashboardModel:
    """The project's dashboard: drift share, drifted columns, the model metric, volume."""
    from evidently.sdk.models import DashboardModel, DashboardTabModel, PanelMetric
    from evidently.sdk.panels import bar_plot_panel, line_plot_panel

    def value(column: str, legend: str) -> PanelMetric:
        return PanelMetric(legend=legend, metric="MeanValue", metric_labels={"column": column})

    panels = [
        line_plot_panel(
            "Drift share",
            [value(DRIFT_SHARE, "share of drifted feature columns")],
            "the project's drift measures on the full window",
            size="half",
        ),
        bar_plot_panel(
            "Drifted columns",
            [value(DRIFTED_COLUMNS, "drifted feature columns")],
            "feature columns whose drift passed their threshold",
            size="half",
        ),
        line_plot_panel(
            f"Model metric ({metric})",
            [value(metric, f"champion {metric} on matured labels")],
            "the champion of the moment, before any retraining that window",
            size="half",
        ),
        bar_plot_panel(
            "Volume (rows)",
            [value(ROWS, "rows"), value(LABELLED_ROWS, "rows with matured labels")],
            "rows in the window",
            size="half",
        ),
    ]
    tab = DashboardTabModel(title=TAB, panels=[p.id for p in panels])
    return DashboardModel(tabs=[tab], panels=panels)


def _snapshot(values: Mapping[str, float], timestamp: datetime, name: str) -> Any:
    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import MeanValue

    frame = pd.DataFrame([dict(values)])
    data = Dataset.from_pandas(frame, data_definition=DataDefinition(numerical_columns=[*values]))
    report = Report([MeanValue(column=c) for c in values])
    return report.run(data, None, timestamp=timestamp, name=name)


def _workspace(url: str, timeout: float) -> Any:
    """evidently's RemoteWorkspace whose every request has a timeout (0.7.23 sends without one,
    so a UI that accepts and never answers would hang the run)."""
    from evidently._pydantic_compat import parse_obj_as
    from evidently.errors import EvidentlyError
    from evidently.ui.workspace import RemoteWorkspace
    from requests import Session

    class TimedWorkspace(RemoteWorkspace):
        def _request(
            self,
            path: str,
            method: str,
            query_params: dict[str, Any] | None = None,
            body: dict[str, Any] | None = None,
            response_model: Any = None,
            cookies: Any = None,
            headers: dict[str, str] | None = None,
            form_data: bool = False,
        ) -> Any:
            request = self._prepare_request(
                path, method, query_params, body, cookies, headers, form_data=form_data
            )
            with Session() as session:
                response = session.send(request.prepare(), timeout=timeout)
            if response.status_code >= 400:
                try:
                    raise EvidentlyError(response.json()["detail"])
                except (ValueError, KeyError):
                    pass
            response.raise_for_status()
            if response_model is not None:
                return parse_obj_as(response_model, response.json())
            return response

    return TimedWorkspace(url)


def add_window(
    url: str,
    project: str,
    description: str,
    record: RunRecord,
    metric: str,
    timeout: float = 10.0,
) -> str:
    """Add the record's window as a snapshot of the model's project (created, with its
    dashboard, on first use; a dashboard without panels is filled); the snapshot's URL.
    EvidentlyUIError when the UI does not take it."""
    values = window_values(record, metric)
    if not values:
        raise EvidentlyUIError(f"the record of {record.as_of} has no figure to show")
    try:
        workspace = _workspace(url, timeout)
        found = [p for p in workspace.search_project(project) if p.name == project]
        target = found[0] if found else workspace.create_project(project, description)
        if not workspace.get_dashboard(target.id).panels:
            workspace.save_dashboard(target.id, dashboard(metric))
        snapshot = _snapshot(values, window_end(record), snapshot_name(record))
        return str(workspace.add_run(target.id, snapshot).url)
    except Exception as exc:  # requests errors, error answers, a malformed URL
        raise EvidentlyUIError(f"the Evidently UI at {url} did not take the window: {exc}") from exc
