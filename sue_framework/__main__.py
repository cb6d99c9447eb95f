"""`python -m sue_framework` runs the `sue` command line."""

import sys

from sue_framework.cli import main

sys.exit(main())
