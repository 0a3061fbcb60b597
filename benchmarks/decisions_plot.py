"""The picture of the decision replay: metric per window, one line per policy."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.decisions_table import LOOP, PolicyWindow, policies

# not the loop's blue, nor the green and orange of its markers
CRON_COLORS = ("tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:olive", "tab:cyan")


def plot(rows: list[PolicyWindow], metric: str, title: str, path: Path) -> None:
    """One line per policy (the loop bold), markers where the loop promoted or was refused."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(11, 5.5))
    crons = 0
    for name in [p for p in policies(rows) if " every " not in p]:  # the cadences: tables only
        own = sorted((r for r in rows if r.policy == name), key=lambda r: r.as_of)
        x = np.array([r.as_of for r in own], dtype="datetime64[D]")
        y = np.array([np.nan if r.metric is None else r.metric for r in own], dtype=float)
        if name == LOOP:
            ax.plot(x, y, "o-", color="tab:blue", lw=2.2, ms=4, zorder=4, label="the loop (served)")
            promoted = np.array([r.promoted for r in own])
            refused = np.array([r.retrained and not r.promoted for r in own])
            ax.scatter(x[promoted], y[promoted], marker="^", s=80, color="tab:green", zorder=5,
                       label="loop retrained, promoted (serves from the next window)")  # fmt: skip
            ax.scatter(x[refused], y[refused], marker="x", s=60, color="tab:orange", zorder=5,
                       label="loop retrained, challenger refused")  # fmt: skip
        elif name == "never retrain":
            ax.plot(x, y, "s--", color="tab:gray", ms=3, lw=1.2, label=name)
        else:
            color = CRON_COLORS[crons % len(CRON_COLORS)]
            ax.plot(x, y, "-", lw=1.1, alpha=0.8, color=color, label=name)
            crons += 1
    ax.set_ylabel(f"{metric} on the window's matured labels")
    ax.set_title(title)
    ax.xaxis.set_major_locator(mdates.MonthLocator())
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%b"))
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8, ncol=2)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
