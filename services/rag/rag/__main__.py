import sys

from servicekit.cli import main

from .main import definition

sys.exit(main(definition))
