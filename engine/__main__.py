"""`python -m engine ...` is `tree-runner ...`."""
import sys

from .cli import main

sys.exit(main())
