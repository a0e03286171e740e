"""``python -m recolor.train.deoldify ...``: ``python -m recolor train deoldify ...``."""
import sys

from ...cli import main

raise SystemExit(main(["train", "deoldify", *sys.argv[1:]]))
