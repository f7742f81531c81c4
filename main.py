#!/usr/bin/env python3
"""Dataset Inspector entry point.

    python main.py [ROOT]                       open the window (a demo dataset when ROOT is omitted)
    python main.py scan ROOT --json OUT.json    headless scan and export (see --help)
"""
import sys

from inspector.cli import main

if __name__ == "__main__":  # the guard also keeps scan worker processes from re-running main
    sys.exit(main())
