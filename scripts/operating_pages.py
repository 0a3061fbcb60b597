"""Screenshots of the two pages an operator reads first: Prefect's deployment list and MLflow's
registered-model page, from headless Chromium (the browser of scripts/browser_check.py).

    python scripts/operating_pages.py --model flights_delay [--out out/screenshots]

Asserts on the rendered text first: the list shows the model's deployments by their readable
names (retrain/operate/deployment_names.py), the model page its champion alias history and its
versions
on the first screen (1400 x 1000). Exits 1 naming what a page lacks, 2 without chromium.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import urllib.parse
from pathlib import Path
from typing import Any

from retrain.operate.deployment_names import Purpose, deployment_name
from retrain.registry.page import HISTORY_HEADING
from retrain.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent


def browser_check() -> Any:
    """scripts/browser_check.py as a module (scripts are not a package)."""
    spec = importlib.util.spec_from_file_location(
        "browser_check", ROOT / "scripts" / "browser_check.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["browser_check"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a deployed model with a champion")
    parser.add_argument(
        "--registry-model", help="the registered model to show (default: --model)", default=None
    )
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "screenshots")
    args = parser.parse_args(argv)
    check = browser_check()
    settings = get_settings()
    prefect_ui = settings.prefect_api_url.rstrip("/").removesuffix("/api")
    mlflow_ui = settings.mlflow_tracking_uri.rstrip("/")
    try:
        browser = check.find_chromium()
    except FileNotFoundError as exc:
        print(f"operating pages: {exc}", file=sys.stderr)
        return 2
    registered = args.registry_model or args.model
    version = check.champion_version(mlflow_ui, registered)
    names = tuple(deployment_name(args.model, p) for p in Purpose)
    pages = [
        check.Page("prefect_deployments", f"{prefect_ui}/deployments", names),
        check.Page(
            "mlflow_registered_model",
            f"{mlflow_ui}/#/models/{urllib.parse.quote(registered)}",
            (registered, HISTORY_HEADING.strip("\n# "), f"Version {version}"),
        ),
    ]
    args.out.mkdir(parents=True, exist_ok=True)
    failures = []
    for page in pages:
        missing = check.check_page(browser, page, args.out)
        shot = args.out / f"{page.name}.png"
        print(f"  {'ok  ' if not missing else 'FAIL'} {page.url}  -> {shot}")
        if missing:
            failures.append(f"{page.url} does not show {missing}")
    if failures:
        print("operating pages:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
