"""Train a network: `python -m recolor train pix2pix|deoldify --help`."""
from __future__ import annotations

import argparse
import importlib

TRAINERS = {"pix2pix": "recolor.train.pix2pix", "deoldify": "recolor.train.deoldify"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="model", required=True)
    for name, module in TRAINERS.items():
        try:
            mod = importlib.import_module(module)
        except ImportError:
            continue
        sp = sub.add_parser(name, help=(mod.__doc__ or name).strip().splitlines()[0])
        mod.add_arguments(sp)
        sp.set_defaults(func=mod.main)


def main(args: argparse.Namespace) -> int:
    return args.func(args)
