import sys

from servicekit.cli import main

from .main import build_app, definition

sys.exit(main(definition, app_factory=build_app))
