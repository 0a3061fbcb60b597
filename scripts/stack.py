"""Start, stop and inspect the local stack: PostgreSQL, LocalStack S3, MLflow, Prefect, a worker.

    python scripts/stack.py up | down | status | clean | run -- CMD...

The services live in the `stack/` package, one small module each; this is its command line.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stack.cli import main

if __name__ == "__main__":
    sys.exit(main())
