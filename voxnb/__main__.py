"""``python -m voxnb``: the same command line as ``voxnb``."""

from __future__ import annotations

import sys

from voxnb.cli import main

if __name__ == "__main__":
    sys.exit(main())
