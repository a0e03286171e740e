"""The ``train pix2pix`` flags, and the generator config they describe."""
from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from ..run import add_run_arguments

ROOT = Path(__file__).resolve().parents[3]
MOBILENET_WEIGHTS = ROOT.parent / "shared" / "weights" / "mobilenet_v2_features_tonylins_tvkeys.pth"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The `train pix2pix` flags."""
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "train"),
                   help="folder of colour photos to train on")
    p.add_argument("--val-data", default=str(ROOT.parent / "shared" / "data" / "val"),
                   help="folder of photos for per-epoch validation ('' to skip)")
    p.add_argument("--val-limit", type=int, default=64, help="val photos used per epoch")
    p.add_argument("--out", default="runs/pix2pix", help="run folder: ckpt, logs, samples")
    p.add_argument("--arch", choices=("classic", "mobilenet"), default="mobilenet")
    p.add_argument("--num-downs", type=int, default=None,
                   help="classic U-Net depth (default: log2(size), 8 for 256)")
    p.add_argument("--ngf", type=int, default=64, help="classic U-Net base width")
    p.add_argument("--width", type=int, default=32, help="MobileNet U-Net decoder base width")
    p.add_argument("--encoder-weights", default=str(MOBILENET_WEIGHTS),
                   help="ImageNet MobileNetV2 features ('none': random init)")
    p.add_argument("--size", type=int, default=256, help="training crop size")
    p.add_argument("--epochs", type=int, default=10, help="GAN epochs (after the L1 ones)")
    p.add_argument("--pretrain-l1", type=int, default=0, help="L1-only epochs before the GAN")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--decay-epochs", type=int, default=0,
                   help="the last N epochs decay the LR linearly to 0 (the pix2pix code's "
                        "'linear' policy)")
    p.add_argument("--init", default=None, metavar="WEIGHTS",
                   help="start G from a shipped .safetensors (its config too); D starts fresh; "
                        "ignored with --resume")
    p.add_argument("--lambda-l1", type=float, default=100.0)
    p.add_argument("--freeze-encoder", action="store_true",
                   help="mobilenet: train the decoder only; the encoder keeps its weights and "
                        "BatchNorm statistics (pass it again on --resume)")
    p.add_argument("--resume", default=None, help="checkpoint to continue from")
    add_run_arguments(p, ckpt_minutes=5.0)
    p.add_argument("--export", default=None, help="write the final G here (fp16 safetensors)")
    p.add_argument("--export-only", default=None, metavar="CKPT",
                   help="just export CKPT (full or G_epoch*.pt) to --export and exit")
    p.add_argument("--blend", nargs=2, default=None, metavar=("CKPT_B", "ALPHA"),
                   help="with --export-only CKPT_A: export (1 - ALPHA) * A + ALPHA * B")
    p.add_argument("--eval-only", default=None, metavar="WEIGHTS",
                   help="evaluate a .safetensors on --val-data (--val-limit photos) and exit")
    p.add_argument("--grid", default=None, help="with --eval-only: save a sample grid PNG")
    p.add_argument("--infer-size", type=int, default=None,
                   help="working short side stored in the export (default: --size)")
    p.add_argument("--saturation", type=float, default=None,
                   help="default chroma gain stored in the export (default: none, i.e. 1)")


def generator_config(args: argparse.Namespace) -> dict[str, Any]:
    if args.arch == "classic":
        nd = args.num_downs or int(math.log2(args.size))
        return {"arch": "classic", "num_downs": nd, "ngf": args.ngf, "train_size": args.size}
    return {"arch": "mobilenet", "width": args.width, "train_size": args.size}
