"""The three NoGAN phases as one trainer object: generator, critic, loss and the optimisers of
the current phase, with one step method per phase (fastai's GANLearner with an
AdaptiveGANSwitcher, written out)."""
from __future__ import annotations

import argparse
from typing import Any

import torch
from torch import nn

from ...models.deoldify import DynamicUnet
from .losses import FeatureLoss, adversarial_loss, critic_loss


def set_requires_grad(net: nn.Module, flag: bool) -> None:
    for p in net.parameters():
        p.requires_grad_(flag)


class NoGAN:
    """Generator, critic, loss and the optimiser of the current phase, with one step method per
    phase. ``begin(phase, total_steps)`` makes that phase's optimisers (fastai-style AdamW)."""

    def __init__(self, G: DynamicUnet, D: nn.Module, loss: FeatureLoss, args: argparse.Namespace,
                 device: str | torch.device = "cpu"):
        self.device = torch.device(device)
        self.G, self.D, self.loss = G.to(self.device), D.to(self.device), loss.to(self.device)
        self.args = args
        self.phase = ""
        self.opt_G: torch.optim.Optimizer | None = None
        self.opt_D: torch.optim.Optimizer | None = None
        self.sched: torch.optim.lr_scheduler.LRScheduler | None = None
        self.gen_mode = False  # GAN phase: whose turn it is (AdaptiveGANSwitcher)

    def begin(self, phase: str, total_steps: int) -> None:
        """Fresh optimisers for ``phase``; gen/crit: one-cycle LR over ``total_steps``."""
        a, self.phase = self.args, phase
        self.opt_G = self.opt_D = self.sched = None
        if phase == "gen":
            body = list(self.G.layers[0].parameters())
            ids = {id(p) for p in body}
            rest = [p for p in self.G.parameters() if id(p) not in ids]
            lrs = [a.lr * a.encoder_lr_mult, a.lr]
            self.opt_G = torch.optim.AdamW([{"params": body}, {"params": rest}], lr=a.lr,
                                           betas=(0.9, 0.99), weight_decay=a.wd)
            self.sched = torch.optim.lr_scheduler.OneCycleLR(
                self.opt_G, lrs, total_steps=max(total_steps, 2), pct_start=0.3)
        elif phase == "crit":
            self.opt_D = torch.optim.AdamW(self.D.parameters(), lr=a.crit_lr, betas=(0.9, 0.99),
                                           weight_decay=a.wd)
            self.sched = torch.optim.lr_scheduler.OneCycleLR(
                self.opt_D, a.crit_lr, total_steps=max(total_steps, 2), pct_start=0.3)
        else:  # gan: GANLearner's Adam(betas=(0, 0.99)), constant LR, generator first
            self.opt_G = torch.optim.AdamW(self.G.parameters(), lr=a.gan_lr, betas=(0.0, 0.99),
                                           weight_decay=a.wd)
            self.opt_D = torch.optim.AdamW(self.D.parameters(), lr=a.gan_lr, betas=(0.0, 0.99),
                                           weight_decay=a.wd)
            self.gen_mode = True

    def freeze_encoder(self, frozen: bool) -> None:
        """fastai's ``freeze()``: the pretrained body's weights fixed, its BatchNorm trainable."""
        for m in self.G.layers[0].modules():
            if not isinstance(m, nn.BatchNorm2d):
                for p in m.parameters(recurse=False):
                    p.requires_grad_(not frozen)

    def _step(self, opt: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if self.sched is not None and self.sched.last_epoch + 1 < self.sched.total_steps:
            self.sched.step()

    def _fake(self, x: torch.Tensor) -> torch.Tensor:
        """The generator's output as the critic sees it (eval mode, no gradient)."""
        self.G.eval()
        with torch.no_grad():
            return self.G(x)

    def gen_step(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
        """Phase 1: one generator step on the feature (or L1) loss."""
        self.G.train()
        loss, parts = self.loss(self.G(x), y)
        self._step(self.opt_G, loss)
        return {"loss_G": float(loss.detach()), **parts}

    def crit_step(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
        """Phase 2 (and the critic's turns in phase 3): real photos vs generated."""
        fake = self._fake(x)
        self.D.train()
        set_requires_grad(self.D, True)
        real_pred, fake_pred = self.D(y), self.D(fake)
        loss = critic_loss(real_pred, fake_pred, self.args.gan_loss)
        self._step(self.opt_D, loss)
        acc = ((real_pred > 0).float().mean() + (fake_pred < 0).float().mean()) / 2
        return {"loss_D": float(loss.detach()), "acc_D": float(acc)}

    def gan_step(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
        """Phase 3, one batch: the critic's turn until its loss < critic_thresh, then a single
        generator step (AdaptiveGANSwitcher); the other's losses are not logged (nan)."""
        if not self.gen_mode:
            out = self.crit_step(x, y)
            self.gen_mode = out["loss_D"] < self.args.critic_thresh
            return out
        w_adv, w_feat = self.args.gan_weights
        self.G.train()
        self.D.eval()  # no dropout: the generator is scored by the whole critic
        set_requires_grad(self.D, False)
        fake = self.G(x)
        feat, parts = self.loss(fake, y)
        adv = adversarial_loss(self.D(fake), self.args.gan_loss)
        loss = w_adv * adv + w_feat * feat
        self._step(self.opt_G, loss)
        set_requires_grad(self.D, True)
        self.gen_mode = False
        return {"loss_G": float(loss.detach()), "loss_G_adv": float(adv.detach()), **parts}

    def state_dict(self) -> dict[str, Any]:
        opt = lambda o: o.state_dict() if o is not None else None  # noqa: E731
        return {"G": self.G.state_dict(), "D": self.D.state_dict(), "phase": self.phase,
                "opt_G": opt(self.opt_G), "opt_D": opt(self.opt_D), "sched": opt(self.sched),
                "gen_mode": self.gen_mode}

    def load_state_dict(self, sd: dict[str, Any], total_steps: int) -> None:
        """Weights, and (after ``begin``) the phase's optimiser and schedule states."""
        self.G.load_state_dict(sd["G"])
        self.D.load_state_dict(sd["D"])
        if sd["phase"]:
            self.begin(sd["phase"], total_steps)
        for obj, key in ((self.opt_G, "opt_G"), (self.opt_D, "opt_D"), (self.sched, "sched")):
            if obj is not None and sd[key] is not None:
                obj.load_state_dict(sd[key])
        self.gen_mode = sd["gen_mode"]
