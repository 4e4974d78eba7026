"""``python -m deribit_client``: the command line (see :mod:`deribit_client.cli`)."""

import sys

from .cli import main

sys.exit(main())
