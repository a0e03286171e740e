"""Train a network: `python -m recolor train pix2pix|deoldify --help`."""
from __future__ import annotations

import argparse

# name -> (module, one-line help), as recolor.cli.add_plugins takes them
TRAINERS = {
    "pix2pix": ("recolor.train.pix2pix", "the paper's cGAN: U-Net L -> ab, PatchGAN, BCE + L1"),
    "deoldify": ("recolor.train.deoldify", "our slim DeOldify, the NoGAN way: generator, "
                 "critic, short GAN phase"),
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..cli import add_plugins  # noqa: PLC0415 - the top-level CLI imports this module
    add_plugins(p.add_subparsers(dest="model", required=True), TRAINERS)


def main(args: argparse.Namespace) -> int:
    return args.func(args)
