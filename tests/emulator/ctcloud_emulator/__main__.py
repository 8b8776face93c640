"""`python3 -m ctcloud_emulator` entry point."""

import sys

from ctcloud_emulator.cli import main

sys.exit(main())
