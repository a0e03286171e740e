"""``python -m recolor.train.deoldify ...``, the same as ``python -m recolor train deoldify ...``."""
import sys

from ...cli import main

raise SystemExit(main(["train", "deoldify", *sys.argv[1:]]))
