"""The DeOldify training loop: set up (or resume) a run, then go through the three phases,
logging losses, writing milestones (val row, sample grid, generator snapshot) and resumable
checkpoints, until the run is done or told to stop."""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from ...models.deoldify import build_generator
from ..data import EpochSampler
from ..run import RunClock, one_thread, open_log, set_up, write_config
from .checkpoints import export, read_init, save_checkpoint
from .critic import build_critic
from .data import GrayColourPairs
from .losses import VGG_TAPS, FeatureLoss, build_vgg
from .nogan import NoGAN
from .pretrained import init_encoder
from .validation import VAL_KEYS, sample_grid, validate

PHASES = ("gen", "crit", "gan")
ARCH = "slim"
LOG_KEYS = ("loss_G", "pixel", "psnr_mse", "feat_0", "feat_1", "feat_2", "loss_G_adv", "loss_D",
            "acc_D")


def build(args: argparse.Namespace, config: dict[str, Any], fresh: bool) -> NoGAN:
    """Generator (encoder initialised when ``fresh``), critic and loss from the run config."""
    G = build_generator(config["arch"])
    if fresh and config["encoder"] == "pretrained":
        init_encoder(G, args.encoder_weights)
    D = build_critic(config["crit_nf"], config["crit_blocks"])
    pixel_weight = config.get("pixel_weight", 1.0)  # configs without it: upstream's 1
    psnr_weight = config.get("psnr_weight", 0.0)  # configs without it: off
    if config["loss"] == "perceptual":
        loss = FeatureLoss(build_vgg(config["vgg"], args.vgg_weights), VGG_TAPS[config["vgg"]],
                           tuple(config["feat_weights"]), pixel_weight, psnr_weight)
    else:
        loss = FeatureLoss(pixel_weight=pixel_weight, psnr_weight=psnr_weight)
    return NoGAN(G, D, loss, args, args.device)


def new_config(args: argparse.Namespace) -> dict[str, Any]:
    """A fresh run's model config, from its flags."""
    return {"arch": ARCH, "train_size": args.size, "loss": args.loss, "vgg": args.vgg,
            "feat_weights": list(args.feat_weights), "pixel_weight": args.pixel_weight,
            "psnr_weight": args.psnr_weight,
            "encoder": args.encoder, "crit_nf": args.crit_nf, "crit_blocks": args.crit_blocks,
            "render_factor": args.render_factor or max(1, round(args.size / 8))}


def reopen_gan(progress: dict[str, Any], args: argparse.Namespace, n_photos: int,
               steps_per_epoch: int) -> None:
    """Resuming a finished run with a larger ``--gan-fraction``: go back into the GAN phase
    where it ended (critic, optimisers and all), so the GAN phase can be lengthened later
    without starting over. Snapshots go on at the current ``--gan-ckpt-fraction``."""
    done = progress.get("gan_images")
    if progress["phase"] < len(PHASES) or done is None or args.gan_fraction * n_photos <= done:
        return
    per_epoch = steps_per_epoch * args.batch
    progress.update(phase=PHASES.index("gan"), images=done, epoch=done // per_epoch,
                    start=done % per_epoch,
                    gan_ckpt=done // max(1, int(args.gan_ckpt_fraction * n_photos)))


def start(args: argparse.Namespace, out: Path) -> tuple[NoGAN, dict, dict, GrayColourPairs]:
    """The trainer, config, progress and training photos of a new run, or of the one in
    ``out`` (``--resume``), or of a new one whose generator starts from ``--init``."""
    resume = args.resume
    if resume == "auto":  # continue if there is something to continue, else start
        resume = out / "ckpt.pt" if (out / "ckpt.pt").is_file() else None
    ckpt = torch.load(resume, map_location="cpu", weights_only=False) if resume else None
    config = ckpt["config"] if ckpt else new_config(args)
    if ckpt is None and args.init:
        init = read_init(args.init)
        if init["config"]["arch"] != config["arch"]:
            raise SystemExit(f"--init {args.init}: arch {init['config']['arch']} != "
                             f"{config['arch']}")
        config["init"] = str(args.init)
    trainer = build(args, config, fresh=ckpt is None and not args.init)
    if ckpt is None and args.init:
        trainer.G.load_state_dict(init["G"])
    ds = GrayColourPairs(args.data, args.size, train=True, limit=args.limit,
                         crop=args.crop, degrade=args.degrade)
    progress: dict[str, Any] = {"phase": 0, "epoch": 0, "start": 0, "step": 0, "images": 0,
                                "gan_ckpt": 0, "seconds": 0.0}
    if ckpt is not None:
        steps_per_epoch = max(1, len(ds) // args.batch)
        progress = ckpt["progress"]
        trainer.load_state_dict(ckpt, phase_epochs(args).get(ckpt["phase"], 0) * steps_per_epoch)
        torch.set_rng_state(ckpt["rng"])
        np.random.set_state(ckpt["np_rng"])
        reopen_gan(progress, args, len(ds), steps_per_epoch)
        print(f"resumed {resume}: {progress}")
    return trainer, config, progress, ds


def phase_epochs(args: argparse.Namespace) -> dict[str, int]:
    """Epochs of each phase (the GAN phase's, rounded up: it stops by its image count)."""
    return {"gen": args.gen_epochs, "crit": args.crit_epochs,
            "gan": int(np.ceil(args.gan_fraction))}


class Run:
    """One session of a run: its trainer, photos, progress, clock and log, and the loop."""

    def __init__(self, args: argparse.Namespace, out: Path, trainer: NoGAN, config: dict,
                 progress: dict[str, Any], ds: GrayColourPairs):
        self.args, self.out, self.trainer, self.config = args, out, trainer, config
        self.progress, self.ds = progress, ds
        self.steps_per_epoch = max(1, len(ds) // args.batch)
        self.epochs = phase_epochs(args)
        self.val_loader, self.vis = None, None
        if args.val_data:
            val_ds = GrayColourPairs(args.val_data, args.size, train=False, limit=args.val_limit)
            self.val_loader = DataLoader(val_ds, batch_size=16, generator=torch.Generator())
            self.vis = next(iter(DataLoader(val_ds, batch_size=6, generator=torch.Generator())))
        print(f"{config} | {len(ds)} photos, {self.steps_per_epoch} steps/epoch | device "
              f"{trainer.device} | threads {torch.get_num_threads()}")
        self.log, self.writer = open_log(out / "losses.csv", [
            "time", "phase", "epoch", "step", "seconds", "img_per_s", *LOG_KEYS, *VAL_KEYS])
        self.clock = RunClock(args, progress["seconds"])
        self.gan_total = int(args.gan_fraction * len(ds))  # images of the GAN phase
        self.gan_every = max(1, int(args.gan_ckpt_fraction * len(ds)))  # images per snapshot

    def save(self) -> None:
        """The resumable checkpoint OUT/ckpt.pt."""
        self.progress["seconds"] = self.clock.seconds()
        save_checkpoint(self.out / "ckpt.pt", self.trainer, self.config, self.progress)

    def milestone(self, tag: str, phase: str) -> None:
        """Validation row, sample grid and a generator snapshot G_<tag>.pt."""
        p = self.progress
        row = [time.strftime("%H:%M:%S"), tag, p["epoch"], p["step"],
               round(self.clock.seconds()), "", *[""] * len(LOG_KEYS)]
        if self.val_loader is not None:
            v = validate(self.trainer, self.val_loader)
            row += [round(v[k], 4) for k in VAL_KEYS]
            if phase != "crit":
                sample_grid(self.trainer.G, *self.vis, self.out / "samples" / f"{tag}.png",
                            self.trainer.device)
            print(f"{tag}: {json.dumps({k: round(x, 4) for k, x in v.items()})}")
        self.writer.writerow(row)
        self.log.flush()
        if phase != "crit":
            torch.save({"G": self.trainer.G.state_dict(), "config": self.config,
                        "progress": dict(p)}, self.out / f"G_{tag}.pt")

    def loader(self) -> DataLoader:
        """This epoch's batches, in the order fixed by (seed, phase, epoch), from the resume
        point on. Its own generator: the workers' crop RNG differs per epoch (and per resume
        point), and the global RNG (saved in checkpoints) is not consumed."""
        a, p = self.args, self.progress
        epoch_id = 1000 * p["phase"] + p["epoch"]
        sampler = EpochSampler(len(self.ds), a.seed, epoch_id, p["start"])
        g = torch.Generator().manual_seed(a.seed * 100003 + epoch_id * 7919 + p["start"])
        return DataLoader(self.ds, batch_size=a.batch, sampler=sampler, drop_last=True,
                          num_workers=a.workers, worker_init_fn=one_thread,
                          pin_memory=self.trainer.device.type == "cuda", generator=g)

    def log_losses(self, phase: str, sums: dict[str, list[float]], n: int, t0: float) -> None:
        """One CSV row: the mean of each loss over the last ``n`` steps, and the speed."""
        self.writer.writerow([time.strftime("%H:%M:%S"), phase, self.progress["epoch"],
                              self.progress["step"], round(self.clock.seconds()),
                              round(n * self.args.batch / (time.time() - t0), 2),
                              *(round(float(np.mean(sums[k])), 5) if k in sums else ""
                                for k in LOG_KEYS), *[""] * len(VAL_KEYS)])
        self.log.flush()

    def train_epoch(self, phase: str) -> bool:
        """The rest of the current epoch of ``phase`` (the GAN phase: up to its image count);
        True when the run must stop now (``--max-minutes``, ``--max-steps``)."""
        from tqdm import tqdm  # noqa: PLC0415

        a, p, tr = self.args, self.progress, self.trainer
        step = {"gen": tr.gen_step, "crit": tr.crit_step, "gan": tr.gan_step}[phase]
        sums: dict[str, list[float]] = {}
        n_log, t_log = 0, time.time()
        bar = tqdm(self.loader(), desc=f"{phase} epoch {p['epoch'] + 1}/{self.epochs[phase]}",
                   mininterval=10)
        try:
            for x, y in bar:
                losses = step(x.to(tr.device), y.to(tr.device))
                p["start"] += len(x)
                p["images"] += len(x)
                p["step"] += 1
                for k, v in losses.items():
                    sums.setdefault(k, []).append(v)
                n_log += 1
                bar.set_postfix({k: f"{v:.3f}" for k, v in losses.items()
                                 if k in ("loss_G", "loss_D")})
                if n_log == a.log_every:
                    self.log_losses(phase, sums, n_log, t_log)
                    sums, n_log, t_log = {}, 0, time.time()
                if phase == "gan" and (p["images"] >= (p["gan_ckpt"] + 1) * self.gan_every
                                       or p["images"] >= self.gan_total):
                    p["gan_ckpt"] += 1
                    self.milestone(f"gan_{p['gan_ckpt']:04d}", phase)
                    self.save()
                if self.clock.checkpoint_due():
                    self.save()
                if phase == "gan" and p["images"] >= self.gan_total:
                    return False
                if self.clock.must_stop(p["step"]):
                    return True
            return False
        finally:
            bar.close()

    def phase_done(self, phase: str) -> bool:
        p = self.progress
        if phase == "gan":
            return p["images"] >= self.gan_total
        return p["epoch"] >= self.epochs[phase]

    def run(self) -> None:
        """Through the phases from where the run stands, epoch by epoch."""
        p, tr = self.progress, self.trainer
        while p["phase"] < len(PHASES):
            phase = PHASES[p["phase"]]
            if tr.phase != phase:
                tr.begin(phase, self.epochs[phase] * self.steps_per_epoch)
            if self.phase_done(phase):
                if phase == "gan":
                    p["gan_images"] = p["images"]  # lets a later resume extend it
                p.update(phase=p["phase"] + 1, epoch=0, start=0, images=0)
                continue
            pretrained = self.config["encoder"] == "pretrained"
            tr.freeze_encoder(phase == "gen" and pretrained
                              and p["epoch"] < self.args.freeze_epochs)
            if self.train_epoch(phase):
                break
            if phase != "gan" or p["images"] < self.gan_total:  # a whole epoch
                p["epoch"] += 1
                p["start"] = 0
                if phase != "gan":
                    self.milestone(f"{phase}_epoch{p['epoch']:03d}", phase)
            self.save()
            self.clock.checkpointed()
        self.save()
        self.log.close()
        print(f"stopped at {p}")


def main(args: argparse.Namespace) -> int:
    """Run (or resume) the three phases, then export when asked; or only export; returns 0."""
    if args.export_only:
        if not args.export:
            raise SystemExit("--export-only needs --export PATH")
        path = export(args.export_only, args.export, args.render_factor)
        print(f"exported {args.export_only} -> {path}")
        return 0
    set_up(args)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    out = Path(args.out)
    (out / "samples").mkdir(parents=True, exist_ok=True)
    trainer, config, progress, ds = start(args, out)
    write_config(out, config, args)
    Run(args, out, trainer, config, progress, ds).run()
    if args.export and progress["phase"] >= len(PHASES):
        print(f"exported -> {export(out / 'ckpt.pt', args.export, args.render_factor)}")
    return 0
