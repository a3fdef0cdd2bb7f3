import argparse
import sys
from pathlib import Path

from .supervisor import Supervisor

parser = argparse.ArgumentParser(
    prog="python -m parley_devstack", description="Run the whole Parley platform"
)
parser.add_argument("command", choices=["up"])
parser.add_argument("--root", type=Path, default=Path.cwd(), help="project root (var/ is created here)")
args = parser.parse_args()
sys.exit(Supervisor(args.root.resolve()).run())
