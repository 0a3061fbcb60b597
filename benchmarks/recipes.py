"""Training recipes of the baseline replay: how many days, recency weights, holdout or refit.

A recipe (retrain.config.Recipe, the loop's own) is written `DAYS` or `DAYShHALF_LIFE` here:
`56` fits on the last 56 days of matured labels, `365h56` on the last 365 days with sample
weights halving every 56 days of age. Pure code, no I/O.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from retrain.config import Recipe

_RECIPE = re.compile(r"^(\d+)(?:h(\d+))?$")


def parse_recipe(token: str) -> Recipe:
    """`56` -> 56 days; `365h56` -> 365 days, weights halving every 56 days."""
    match = _RECIPE.match(token.strip())
    if not match:
        raise ValueError(f"recipe {token!r} is not DAYS or DAYShHALF_LIFE (e.g. 56, 84, 365h56)")
    days, half = int(match[1]), match[2]
    if days < 2:
        raise ValueError(f"recipe {token!r}: at least 2 days of training data are needed")
    if half is not None and int(half) < 1:
        raise ValueError(f"recipe {token!r}: the half-life must be at least 1 day")
    return Recipe(days=days, half_life_days=int(half) if half is not None else None)


def parse_recipes(text: str, default: Recipe | None = None) -> list[Recipe]:
    """The default recipe first, then the comma-separated ones, each once, in order."""
    found = [default] if default else []
    for token in (t for t in text.split(",") if t.strip()):
        recipe = parse_recipe(token)
        if recipe not in found:
            found.append(recipe)
    return found


def decision_points(bootstrap: date, start: date, end: date, step_days: int) -> list[date]:
    """The bootstrap date, then every `step_days` from `start` to `end` inclusive."""
    if step_days < 1:
        raise ValueError(f"step must be at least one day, got {step_days}")
    if not bootstrap < start <= end:
        raise ValueError(f"need bootstrap < start <= end, got {bootstrap}, {start}, {end}")
    return [bootstrap] + [
        start + timedelta(days=d) for d in range(0, (end - start).days + 1, step_days)
    ]
