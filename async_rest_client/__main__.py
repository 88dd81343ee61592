"""``python -m async_rest_client …``: the command line (cli.py)."""

import sys

from async_rest_client.cli import main

sys.exit(main())
