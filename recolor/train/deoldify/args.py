"""The ``train deoldify`` flags."""
from __future__ import annotations

import argparse

from ..run import add_run_arguments
from .losses import VGG_TAPS
from .pretrained import ROOT


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The ``train deoldify`` flags."""
    shared = ROOT.parent / "shared" / "data"
    p.add_argument("--data", default=str(shared / "train"), help="folder of colour photos")
    p.add_argument("--val-data", default=str(shared / "val"),
                   help="photos for validation and sample grids ('' to skip)")
    p.add_argument("--val-limit", type=int, default=64, help="val photos used")
    p.add_argument("--out", default="runs/deoldify-slim", help="run folder: ckpt, log, samples")
    p.add_argument("--size", type=int, default=128, help="training crop size")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--loss", choices=("perceptual", "l1"), default="perceptual",
                   help="generator loss: FeatureLoss (pixel + VGG features) or pixel L1 alone")
    p.add_argument("--vgg", choices=tuple(VGG_TAPS), default="vgg16", help="perceptual network")
    p.add_argument("--vgg-weights", default=None,
                   help="VGG file (default: ../shared/weights/...; 'random': untrained, tests)")
    p.add_argument("--feat-weights", type=float, nargs="+", default=[20.0, 70.0, 10.0],
                   help="FeatureLoss weight per VGG layer (upstream's 20 70 10)")
    p.add_argument("--pixel-weight", type=float, default=1.0,
                   help="weight of the pixel L1 beside the VGG terms (upstream 1)")
    p.add_argument("--psnr-weight", type=float, default=0.0,
                   help="weight of an added MSE of the prediction with the truth's luma, "
                        "the error the evaluation's PSNR scores (0: off, upstream)")
    p.add_argument("--encoder", choices=("pretrained", "random"), default="pretrained")
    p.add_argument("--encoder-weights", default=None,
                   help="MobileNetV2 file (default: ../shared/weights/...)")
    p.add_argument("--gen-epochs", type=int, default=6, help="phase 1 epochs")
    p.add_argument("--freeze-epochs", type=int, default=1,
                   help="phase 1 epochs with the pretrained encoder frozen (BN trainable)")
    p.add_argument("--lr", type=float, default=1e-3, help="phase 1 one-cycle max LR")
    p.add_argument("--encoder-lr-mult", type=float, default=0.1,
                   help="phase 1 encoder LR factor (discriminative LR)")
    p.add_argument("--crit-epochs", type=int, default=1, help="phase 2 epochs")
    p.add_argument("--crit-lr", type=float, default=1e-3, help="phase 2 one-cycle max LR")
    p.add_argument("--crit-nf", type=int, default=64, help="critic width (upstream 256)")
    p.add_argument("--crit-blocks", type=int, default=3, help="critic downsampling blocks")
    p.add_argument("--gan-loss", choices=("bce", "hinge"), default="bce")
    p.add_argument("--gan-lr", type=float, default=2e-5, help="phase 3 constant LR")
    p.add_argument("--gan-weights", type=float, nargs=2, default=[1.0, 1.5],
                   metavar=("ADV", "FEAT"),
                   help="phase 3 generator loss weights (fastai's weights_gen order)")
    p.add_argument("--critic-thresh", type=float, default=0.65,
                   help="phase 3: critic trains until its loss is below this")
    p.add_argument("--gan-fraction", type=float, default=0.2,
                   help="phase 3 length, in epochs (NoGAN: stop early)")
    p.add_argument("--gan-ckpt-fraction", type=float, default=0.02,
                   help="phase 3 snapshot (G_gan_NNNN.pt, grid, val) interval, in epochs")
    p.add_argument("--wd", type=float, default=1e-3, help="weight decay (DeOldify's 1e-3)")
    p.add_argument("--render-factor", type=int, default=None,
                   help="recommended render_factor stored in the export (default: size/8)")
    p.add_argument("--init", default=None, metavar="CKPT",
                   help="start a new run from this generator (a run's ckpt.pt or G_*.pt, or an "
                        "exported .safetensors): progressive resizing, as upstream pretrains "
                        "at 64 px, then larger, or fine-tuning the shipped weights")
    p.add_argument("--resume", nargs="?", const="auto", default=None,
                   help="checkpoint to continue from (no value: OUT/ckpt.pt if it exists)")
    add_run_arguments(p, ckpt_minutes=10.0)
    p.add_argument("--export", default=None,
                   help="when done, write the generator here (fp16 safetensors)")
    p.add_argument("--export-only", default=None, metavar="CKPT",
                   help="just export CKPT (ckpt.pt or G_*.pt) to --export and exit")
