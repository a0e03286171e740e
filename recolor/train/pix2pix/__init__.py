"""Train pix2pix for colorization: the paper's cGAN loop (BCE + lambda * L1), optional L1-only
pretraining of the generator first, resumable checkpoints, CSV loss log, a sample grid per epoch.

    python -m recolor train pix2pix --data ../shared/data/train --arch mobilenet --size 128 \
        --batch 16 --pretrain-l1 1 --epochs 8 --out runs/pix2pix-mnv2
    python -m recolor train pix2pix --resume runs/pix2pix-mnv2/ckpt.pt ...   # same flags
    python -m recolor train pix2pix --export-only runs/pix2pix-mnv2/ckpt.pt \
        --export weights/pix2pix-mnv2.safetensors --infer-size 192
    python -m recolor train pix2pix --export-only runs/pix2pix-mnv2/G_epoch001.pt \
        --blend runs/pix2pix-mnv2/ckpt.pt 0.5 --export blend.safetensors --infer-size 192
    python -m recolor train pix2pix --eval-only weights/pix2pix-mnv2.safetensors --val-limit 100

The package: ``model`` (the paper's model and step), ``loop`` (the run), ``checkpoints``
(resume, export), ``validation`` (val metrics, sample grids, ``--eval-only``), ``args``.
"""
from __future__ import annotations

from .args import MOBILENET_WEIGHTS, ROOT, add_arguments, generator_config
from .checkpoints import export, save_checkpoint
from .loop import LOSS_KEYS, VAL_KEYS, main
from .model import Pix2Pix, lr_factor, set_requires_grad
from .validation import evaluate, lab_batch_to_rgb, sample_grid, validate

__all__ = ["LOSS_KEYS", "MOBILENET_WEIGHTS", "ROOT", "VAL_KEYS", "Pix2Pix", "add_arguments",
           "evaluate", "export", "generator_config", "lab_batch_to_rgb", "lr_factor", "main",
           "sample_grid", "save_checkpoint", "set_requires_grad", "validate"]
