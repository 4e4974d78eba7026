"""``python -m deribit_client._catalogue._generator``: regenerate the catalogue."""

from . import main

main()
