"""`python -m jpegai_fmt` = the `jpegai-fmt` command."""
import sys

from .cli import main

sys.exit(main())
