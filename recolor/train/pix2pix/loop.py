"""The pix2pix training loop: set up (or resume) a run, then epoch by epoch (L1-only
pretraining epochs first, then GAN epochs) step the model, log the losses, validate, and
write snapshots and resumable checkpoints until done or told to stop."""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from ...models.pix2pix import PatchGAN, build_generator, load_generator
from ..data import ColourPhotos, EpochSampler
from ..run import RunClock, one_thread, open_log, set_up, write_config
from .args import generator_config
from .checkpoints import export, save_checkpoint
from .model import Pix2Pix, lr_factor
from .validation import evaluate, sample_grid, validate

LOSS_KEYS = ("loss_D", "loss_D_real", "loss_D_fake", "loss_G_GAN", "loss_G_L1")
VAL_KEYS = ("val_l1", "val_psnr", "val_colourfulness", "val_colourfulness_gt")


def start(args: argparse.Namespace) -> tuple[Pix2Pix, dict[str, Any], dict[str, Any]]:
    """The model, config and progress of a new run, of the run ``--resume`` names, or of a new
    one whose G starts from the weight file ``--init``."""
    ckpt = torch.load(args.resume, map_location="cpu", weights_only=False) if args.resume else None
    if ckpt is None and args.init:
        G = load_generator(args.init)
        config = {k: v for k, v in G.config.items() if k not in ("infer_size", "saturation")}
        config["train_size"] = args.size
    else:
        config = ckpt["config"] if ckpt else generator_config(args)
        G = build_generator(config)
        if ckpt is None and config["arch"] == "mobilenet" and args.encoder_weights.lower() != "none":
            G.load_encoder(args.encoder_weights)
    if args.freeze_encoder and not hasattr(G, "encoder"):
        raise SystemExit("--freeze-encoder needs --arch mobilenet")
    model = Pix2Pix(G, PatchGAN(), args.lr, args.lambda_l1, args.device, args.freeze_encoder)
    progress = {"epoch": 0, "start": 0, "step": 0, "seconds": 0.0}
    if ckpt is not None:
        model.load_state_dict(ckpt)
        progress = ckpt["progress"]
        torch.set_rng_state(ckpt["rng"])
        print(f"resumed {args.resume}: {progress}")
    return model, config, progress


class Run:
    """One session of a run: its model, photos, progress, clock and log, and the loop."""

    def __init__(self, args: argparse.Namespace, out: Path, model: Pix2Pix,
                 config: dict[str, Any], progress: dict[str, Any]):
        self.args, self.out, self.model, self.config = args, out, model, config
        self.progress, self.device = progress, model.device
        self.train_ds = ColourPhotos(args.data, args.size, train=True, limit=args.limit,
                                     crop=args.crop, degrade=args.degrade)
        self.val_loader, self.vis = None, None
        if args.val_data:
            val_ds = ColourPhotos(args.val_data, args.size, train=False, limit=args.val_limit)
            self.val_loader = DataLoader(val_ds, batch_size=16)
            self.vis = next(iter(DataLoader(val_ds, batch_size=6)))
        print(f"{config} | {len(self.train_ds)} train photos | device {self.device} | "
              f"threads {torch.get_num_threads()}")
        self.log, self.writer = open_log(out / "losses.csv", [
            "time", "epoch", "phase", "step", "seconds", "img_per_s", *LOSS_KEYS, *VAL_KEYS])
        self.total_epochs = args.pretrain_l1 + args.epochs
        self.clock = RunClock(args, progress["seconds"])

    def save(self) -> None:
        """The resumable checkpoint OUT/ckpt.pt."""
        self.progress["seconds"] = self.clock.seconds()
        save_checkpoint(self.out / "ckpt.pt", self.model, self.config, self.progress)

    def loader(self, epoch: int) -> DataLoader:
        """This epoch's batches, in the order fixed by (seed, epoch), from the resume point."""
        a = self.args
        sampler = EpochSampler(len(self.train_ds), a.seed, epoch, self.progress["start"])
        return DataLoader(self.train_ds, batch_size=a.batch, sampler=sampler, drop_last=True,
                          num_workers=a.workers, pin_memory=self.device.type == "cuda",
                          persistent_workers=False, worker_init_fn=one_thread)

    def train_epoch(self, epoch: int, phase: str) -> bool:
        """The rest of `epoch` (phase "l1": G alone on L1; "gan": the paper's step); True when
        the run must stop now (``--max-minutes``, ``--max-steps``)."""
        from tqdm import tqdm  # noqa: PLC0415

        a, p, model = self.args, self.progress, self.model
        sums, n, t_log = dict.fromkeys(LOSS_KEYS, 0.0), 0, time.time()
        bar = tqdm(self.loader(epoch), desc=f"epoch {epoch + 1}/{self.total_epochs} {phase}",
                   mininterval=10)
        try:
            for L, ab in bar:
                model.set_lr(a.lr * lr_factor(epoch + p["start"] / len(self.train_ds),
                                              self.total_epochs, a.decay_epochs))
                model.set_input(L, ab)
                model.optimize_l1() if phase == "l1" else model.optimize_parameters()
                losses = model.losses()
                p["start"] += len(L)
                p["step"] += 1
                for k in LOSS_KEYS:
                    sums[k] += losses[k]
                n += 1
                bar.set_postfix(D=f"{losses['loss_D']:.3f}", G_GAN=f"{losses['loss_G_GAN']:.3f}",
                                L1=f"{losses['loss_G_L1']:.2f}")
                if n == a.log_every:
                    ips = n * a.batch / (time.time() - t_log)
                    self.writer.writerow([time.strftime("%H:%M:%S"), epoch, phase, p["step"],
                                          round(self.clock.seconds()), round(ips, 2),
                                          *(round(sums[k] / n, 5) for k in LOSS_KEYS)])
                    self.log.flush()
                    sums, n, t_log = dict.fromkeys(LOSS_KEYS, 0.0), 0, time.time()
                if self.clock.checkpoint_due():
                    self.save()
                if self.clock.must_stop(p["step"]):
                    return True
            return False
        finally:
            bar.close()

    def end_epoch(self, epoch: int, phase: str) -> None:
        """The epoch's val row and sample grid, and its generator snapshot G_epochNNN.pt."""
        p = self.progress
        row = [time.strftime("%H:%M:%S"), epoch, phase + "-end", p["step"],
               round(self.clock.seconds()), "", *([""] * len(LOSS_KEYS))]
        if self.val_loader is not None:
            v = validate(self.model.G, self.val_loader, self.device)
            sample_grid(self.model.G, *self.vis,
                        self.out / "samples" / f"epoch_{epoch + 1:03d}.png", self.device)
            row += [round(v[k], 4) for k in VAL_KEYS]
            print(f"epoch {epoch + 1} ({phase}) val: {v}")
        self.writer.writerow(row)
        self.log.flush()
        torch.save({"G": self.model.G.state_dict(), "config": self.config, "progress": dict(p)},
                   self.out / f"G_epoch{epoch + 1:03d}.pt")

    def run(self) -> None:
        """Epochs from where the run stands to ``--pretrain-l1`` + ``--epochs``."""
        p = self.progress
        while p["epoch"] < self.total_epochs:
            epoch = p["epoch"]
            phase = "l1" if epoch < self.args.pretrain_l1 else "gan"
            if self.train_epoch(epoch, phase):
                break
            p["epoch"] += 1
            p["start"] = 0
            self.end_epoch(epoch, phase)
            self.save()
            self.clock.checkpointed()
        self.save()
        self.log.close()
        print(f"stopped at {p}")


def main(args: argparse.Namespace) -> int:
    """Train (or resume) and export when asked; or only evaluate, or only export."""
    if args.eval_only:
        res = evaluate(args.eval_only, args.val_data, args.val_limit, args.infer_size, args.grid)
        print(json.dumps({k: round(v, 3) for k, v in res.items()}, indent=1))
        return 0
    if args.export_only:
        if not args.export:
            raise SystemExit("--export-only needs --export OUT.safetensors")
        mix = (args.blend[0], float(args.blend[1])) if args.blend else None
        export(args.export_only, args.export, args.infer_size, mix, args.saturation)
        print(f"exported {args.export_only}{f' blended with {mix}' if mix else ''} -> "
              f"{args.export}")
        return 0
    set_up(args)
    out = Path(args.out)
    (out / "samples").mkdir(parents=True, exist_ok=True)
    model, config, progress = start(args)
    write_config(out, config, args)
    Run(args, out, model, config, progress).run()
    if args.export:
        export(out / "ckpt.pt", args.export, args.infer_size, saturation=args.saturation)
        print(f"exported -> {args.export}")
    return 0
