"""The pix2pix model as the paper's code has it (junyanz's ``pix2pix_model.py``): G (L -> ab),
D (a PatchGAN on (L, ab)), their Adam optimisers and losses, and one training step as
``set_input / forward / backward_D / backward_G / optimize_parameters``."""
from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn


def set_requires_grad(nets: nn.Module | list[nn.Module], flag: bool) -> None:
    """Switch gradients of every parameter of `nets` on or off."""
    for net in nets if isinstance(nets, list) else [nets]:
        for p in net.parameters():
            p.requires_grad_(flag)


class Pix2Pix:
    """The paper's model: G (L -> ab), D (PatchGAN on (L, ab)), their Adam optimizers and losses."""

    def __init__(self, G: nn.Module, D: nn.Module, lr: float = 2e-4, lambda_l1: float = 100.0,
                 device: str | torch.device = "cpu", freeze_encoder: bool = False):
        self.device = torch.device(device)
        self.G, self.D = G.to(self.device), D.to(self.device)
        # A frozen encoder (ImageNet features that cannot learn the training photos by heart)
        # gets no gradient and keeps its BatchNorm statistics; only the decoder trains.
        self.frozen = G.encoder if freeze_encoder else None
        if self.frozen is not None:
            set_requires_grad(self.frozen, False)
        self.opt_G = torch.optim.Adam([p for p in G.parameters() if p.requires_grad],
                                      lr=lr, betas=(0.5, 0.999))
        self.opt_D = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999))
        self.bce, self.l1 = nn.BCEWithLogitsLoss(), nn.L1Loss()
        self.lambda_l1 = lambda_l1
        self.amp = self.device.type == "cuda"
        self.loss_D = self.loss_D_real = self.loss_D_fake = torch.zeros(())
        self.loss_G = self.loss_G_GAN = self.loss_G_L1 = torch.zeros(())

    def autocast(self):
        return torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.amp)

    def train_mode(self) -> None:
        """G and D in training mode, except a frozen encoder (its BatchNorm stays fixed)."""
        self.G.train(), self.D.train()
        if self.frozen is not None:
            self.frozen.eval()

    def set_input(self, L: torch.Tensor, ab: torch.Tensor) -> None:
        self.L = L.to(self.device, non_blocking=True)
        self.ab = ab.to(self.device, non_blocking=True)

    def forward(self) -> None:
        with self.autocast():
            self.fake = self.G(self.L)

    def backward_D(self) -> None:
        """D: fake (detached) -> 0, real -> 1, BCE-with-logits averaged."""
        with self.autocast():
            pred_fake = self.D(self.L, self.fake.detach())
            self.loss_D_fake = self.bce(pred_fake.float(), torch.zeros_like(pred_fake, dtype=torch.float))
            pred_real = self.D(self.L, self.ab)
            self.loss_D_real = self.bce(pred_real.float(), torch.ones_like(pred_real, dtype=torch.float))
        self.loss_D = 0.5 * (self.loss_D_fake + self.loss_D_real)
        self.loss_D.backward()

    def backward_G(self, gan: bool = True) -> None:
        """G: fool D (BCE toward 'real') + lambda_L1 * L1(fake ab, real ab)."""
        with self.autocast():
            self.loss_G_L1 = self.l1(self.fake.float(), self.ab) * self.lambda_l1
            if gan:
                pred_fake = self.D(self.L, self.fake)
                self.loss_G_GAN = self.bce(pred_fake.float(), torch.ones_like(pred_fake, dtype=torch.float))
            else:
                self.loss_G_GAN = torch.zeros((), device=self.device)
        self.loss_G = self.loss_G_GAN + self.loss_G_L1
        self.loss_G.backward()

    def optimize_parameters(self) -> None:
        """One GAN step: update D, then G with D frozen."""
        self.train_mode()
        self.forward()
        set_requires_grad(self.D, True)
        self.opt_D.zero_grad(set_to_none=True)
        self.backward_D()
        self.opt_D.step()
        set_requires_grad(self.D, False)
        self.opt_G.zero_grad(set_to_none=True)
        self.backward_G()
        self.opt_G.step()

    def optimize_l1(self) -> None:
        """One L1-only generator step (the pretraining phase; D is untouched)."""
        self.train_mode()
        self.forward()
        self.opt_G.zero_grad(set_to_none=True)
        self.backward_G(gan=False)
        self.opt_G.step()

    def set_lr(self, lr: float) -> None:
        """Set both optimizers' learning rate (the schedule's value for the next step)."""
        for opt in (self.opt_G, self.opt_D):
            for group in opt.param_groups:
                group["lr"] = lr

    def losses(self) -> dict[str, float]:
        return {k: float(getattr(self, k).detach()) for k in
                ("loss_D", "loss_D_real", "loss_D_fake", "loss_G_GAN", "loss_G_L1")}

    def state_dict(self) -> dict[str, Any]:
        return {"G": self.G.state_dict(), "D": self.D.state_dict(),
                "opt_G": self.opt_G.state_dict(), "opt_D": self.opt_D.state_dict()}

    def load_state_dict(self, sd: dict[str, Any]) -> None:
        self.G.load_state_dict(sd["G"])
        self.D.load_state_dict(sd["D"])
        self.opt_G.load_state_dict(sd["opt_G"])
        self.opt_D.load_state_dict(sd["opt_D"])


def lr_factor(epochs_done: float, total_epochs: int, decay_epochs: int) -> float:
    """The LR multiplier after `epochs_done` (fractional) of `total_epochs`: 1, then a linear
    fall to 0 over the last `decay_epochs`, as the pix2pix code's 'linear' policy."""
    if decay_epochs <= 0:
        return 1.0
    start = total_epochs - decay_epochs
    return float(min(1.0, max(0.0, 1.0 - (epochs_done - start) / decay_epochs)))
