"""`python -m stack up | down | status | clean | run -- CMD...`: the stack's command line."""

import sys

from stack.cli import main

sys.exit(main())
