"""``python -m recolor.train.pix2pix ...``, the same as ``python -m recolor train pix2pix``."""
import argparse

from . import __doc__ as doc
from . import add_arguments, main

parser = argparse.ArgumentParser(description=doc.splitlines()[0])
add_arguments(parser)
raise SystemExit(main(parser.parse_args()))
