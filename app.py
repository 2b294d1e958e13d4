"""CoSwap entry point: `python app.py` serves the UI, `python app.py COMMAND` is the CLI."""

import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main())
