"""``python -m recolor.train.pix2pix ...``: ``python -m recolor train pix2pix ...``."""
import sys

from ...cli import main

raise SystemExit(main(["train", "pix2pix", *sys.argv[1:]]))
