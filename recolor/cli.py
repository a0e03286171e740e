"""Command line: `python -m recolor colorize|train|... --help`."""
from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from .archive.engines import ENGINES
from .archive.run import colorize_archive
from .errors import RecolorError
from .images import load_image
from .registry import METHODS

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}

# subcommands implemented elsewhere (see add_plugins)
_PLUGINS = {
    "evaluate": ("recolor.evaluate", "score every method against ground truth on a folder of "
                 "colour photos"),
    "build-references": ("recolor.references", "build the reference bank the transfers pick "
                         "a colour reference from"),
    "train": ("recolor.train.cli", "train pix2pix or DeOldify (`train NAME --help`)"),
    "video": ("recolor.video", "colorize a video frame by frame, keeping its audio"),
}


def _option_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per distinct method option in the registry; its help ends with each method's
    default (for the networks, what their loaded weights run with)."""
    seen: dict[str, list] = {}
    for m in METHODS.values():
        for o in m.options:
            seen.setdefault(o.name, []).append((m, o))
    group = parser.add_argument_group("method options (each applies to the methods that have it)")
    for name, owners in seen.items():
        o = owners[0][1]
        flag = "--" + name.replace("_", "-")
        defaults = "; ".join(f"{m.name} {opt.default}" for m, opt in owners)
        help_text = f"{o.help} Default: {defaults}.".replace("%", "%%")
        if isinstance(o.default, bool):
            group.add_argument(flag, dest=name, action=argparse.BooleanOptionalAction,
                               default=None, help=help_text)
        else:
            group.add_argument(flag, dest=name, type=type(o.default), default=None,
                               choices=o.choices, help=help_text)


def expand_inputs(paths: list[str]) -> list[Path]:
    """Files as given, and the image files directly inside any folder, sorted."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
        else:
            out.append(p)
    return out


def cmd_colorize(args: argparse.Namespace) -> int:
    keys = list(METHODS) if args.method == "all" else args.method.split(",")
    for k in keys:
        if k not in METHODS:
            print(f"error: unknown method {k!r}; choose from all, {', '.join(METHODS)}",
                  file=sys.stderr)
            return 2
    files = expand_inputs(args.inputs)
    if not files:
        print("error: no input images found", file=sys.stderr)
        return 2
    if args.workers is not None and args.workers < 1:
        print("error: --workers must be at least 1", file=sys.stderr)
        return 2
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    given = {o.name: getattr(args, o.name) for m in METHODS.values() for o in m.options
             if getattr(args, o.name) is not None}
    if args.reference != "auto":
        try:
            load_image(args.reference, "reference")
        except RecolorError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    return colorize_archive(files, keys, given, args.reference, out_dir, engine=args.engine,
                            address=args.address, workers=args.workers,
                            retry_failed=args.retry_failed)


def cmd_import_weights(args: argparse.Namespace) -> int:
    from .learned import WEIGHTS  # noqa: PLC0415
    from .models.deoldify import import_weights  # noqa: PLC0415
    try:
        path = import_weights(args.checkpoint, args.weights_dir or WEIGHTS, name=args.name)
    except (OSError, ValueError, RuntimeError, KeyError) as e:
        print(f"error: {args.checkpoint}: {e}", file=sys.stderr)
        return 1
    print(f"wrote {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m recolor", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("colorize", help="colorize image files and folders")
    p.add_argument("inputs", nargs="+", help="image files and/or folders of images")
    p.add_argument("--method", default="all",
                   help=f"all, or one or more of {', '.join(METHODS)} separated by commas")
    p.add_argument("--reference", default="auto",
                   help="colour reference image for the transfer methods; auto (default): "
                        "picked per photo from the bundled reference bank")
    p.add_argument("--out", required=True, help="output folder; OUT/manifest.sqlite records "
                   "every result, and a rerun skips what is done")
    p.add_argument("--engine", choices=ENGINES, default="local",
                   help="local (default): in this process; ray: a Ray Data actor pool, on this "
                        "machine (bound to 127.0.0.1) or on the cluster at --address")
    p.add_argument("--address", help="ray: an existing cluster's address (HOST:PORT, or auto)")
    p.add_argument("--workers", type=int, help="ray: the number of actors (default: this "
                   "machine's CPU count, or the cluster's CPUs)")
    p.add_argument("--retry-failed", action="store_true",
                   help="redo the files the manifest has as failed (skipped by default)")
    _option_flags(p)
    p.set_defaults(func=cmd_colorize)
    p = sub.add_parser("import-weights", help="convert an official DeOldify checkpoint (.pth) "
                       "into weights/deoldify-<name>.safetensors")
    p.add_argument("checkpoint", help="ColorizeArtistic_gen.pth, ColorizeStable_gen.pth, ...")
    p.add_argument("--name", help="artistic, stable or video (default: from the file's shapes)")
    p.add_argument("--weights-dir", help="default: the app's weights/ folder")
    p.set_defaults(func=cmd_import_weights)
    add_plugins(sub, _PLUGINS)
    return parser


def add_plugins(sub: argparse._SubParsersAction, plugins: dict[str, tuple[str, str]]) -> None:
    """One subcommand per entry of `plugins` (name -> (module, one-line help)); the module
    gives `add_arguments(parser)`, `main(args)` and, as its docstring, the description. Every
    module's dependencies are installed with the package (an optional one is imported where
    it is used), so an ImportError here is a bug and is raised, not hidden."""
    for name, (module, help_line) in plugins.items():
        mod = importlib.import_module(module)
        sp = sub.add_parser(name, help=help_line, description=mod.__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
        mod.add_arguments(sp)
        sp.set_defaults(func=mod.main)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)
