"""Train our slim DeOldify generator with DeOldify's NoGAN recipe, in three phases:

1. ``gen``: generator pretraining with fastai's FeatureLoss (pixel L1 + L1 between frozen VGG
   features, per layer), the encoder initialised from ImageNet MobileNetV2 weights and frozen
   (BatchNorm excepted) for the first ``--freeze-epochs``, one-cycle LR as fastai's
   ``fit_one_cycle``;
2. ``crit``: critic pretraining as a classifier of real photos vs the pretrained generator's
   output (DeOldify's spectral-norm patch critic, BCE on every patch);
3. ``gan``: a short GAN phase as fastai's GANLearner with AdaptiveGANSwitcher (the critic trains
   until its loss drops under ``--critic-thresh``, then one generator step with
   ``1.0 * adversarial loss + 1.5 * feature loss``, DeOldify's ``weights_gen``), Adam betas
   (0, 0.99), a small constant LR, a generator snapshot + sample grid + val metrics every
   ``--gan-ckpt-fraction`` of an epoch, and a stop after ``--gan-fraction`` of an epoch: NoGAN
   stops before artefacts grow, so pick the best snapshot by eye (``samples/``) and export it
   with ``--export-only``.

Upstream pretrains its generator at growing sizes (64 px, then larger); ``--init`` starts a
new run at a new ``--size`` from an earlier run's generator. A finished run resumed with a larger
``--gan-fraction`` goes on with its GAN phase (snapshots continue their numbering at the new
``--gan-ckpt-fraction``, so lengthen a copy of the run folder to keep the old snapshots).

The ablations are ``--loss l1`` (pixel L1 only) and ``--encoder random``.

The package, one module per part: ``data`` (gray/colour pairs), ``losses`` (FeatureLoss, GAN
losses), ``critic``, ``nogan`` (the trainer: one step method per phase), ``loop`` (the run),
``checkpoints`` (resume, export, ``--init``), ``validation``, ``pretrained``, ``args``.

    python -m recolor train deoldify --data ../shared/data/train --size 128 \
        --out runs/deoldify-slim --export weights/deoldify-slim.safetensors
    python -m recolor train deoldify --resume --out runs/deoldify-slim ...   # same flags
    python -m recolor train deoldify --export-only runs/deoldify-slim/G_gan_0003.pt \
        --export weights/deoldify-slim.safetensors
"""
from __future__ import annotations

from .args import add_arguments
from .checkpoints import export, read_init, record_in_manifest, save_checkpoint
from .critic import build_critic
from .data import GrayColourPairs, denormalize, normalize
from .losses import (VGG_TAPS, FeatureLoss, adversarial_loss, build_vgg, critic_loss,
                     kept_luma_mse)
from .loop import ARCH, LOG_KEYS, PHASES, build, main, reopen_gan
from .nogan import NoGAN
from .pretrained import PRETRAINED, ROOT, SHARED_WEIGHTS, init_encoder, load_pretrained
from .validation import VAL_KEYS, sample_grid, validate

__all__ = ["ARCH", "LOG_KEYS", "PHASES", "PRETRAINED", "ROOT", "SHARED_WEIGHTS", "VAL_KEYS",
           "VGG_TAPS", "FeatureLoss", "GrayColourPairs", "NoGAN", "add_arguments",
           "adversarial_loss", "build", "build_critic", "build_vgg", "critic_loss", "denormalize",
           "export", "init_encoder", "kept_luma_mse", "load_pretrained", "main", "normalize",
           "read_init", "record_in_manifest", "reopen_gan", "sample_grid", "save_checkpoint",
           "validate"]
