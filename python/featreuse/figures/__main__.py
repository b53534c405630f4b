"""python3 -m featreuse.figures STORE.h5 --out DIR [--where AXIS=VALUE ...]"""

import sys

from .cli import main

sys.exit(main())
