"""Start the CT / cThings API emulator: `python3 tests/emulator/run_emulator.py --port 0`.

Works from any working directory, also from an installed copy of the
collection: the package is found next to this file.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from ctcloud_emulator.cli import main  # pylint: disable=wrong-import-position  # needs the path above

if __name__ == "__main__":
    sys.exit(main())
