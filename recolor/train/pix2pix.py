"""Train pix2pix for colorization: the paper's cGAN loop (BCE + lambda * L1), optional L1-only
pretraining of the generator first, resumable checkpoints, CSV loss log, a sample grid per epoch.

    python -m recolor.train.pix2pix --data ../shared/data/train --arch mobilenet --size 128 \
        --batch 16 --pretrain-l1 1 --epochs 8 --out runs/pix2pix-mnv2
    python -m recolor.train.pix2pix --resume runs/pix2pix-mnv2/ckpt.pt ...   # same flags
    python -m recolor.train.pix2pix --export-only runs/pix2pix-mnv2/ckpt.pt \
        --export weights/pix2pix-mnv2.safetensors --infer-size 192
    python -m recolor.train.pix2pix --export-only runs/pix2pix-mnv2/G_epoch001.pt \
        --blend runs/pix2pix-mnv2/ckpt.pt 0.5 --export blend.safetensors --infer-size 192
    python -m recolor.train.pix2pix --eval-only weights/pix2pix-mnv2.safetensors --val-limit 100
"""
from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn
from PIL import Image
from torch.utils.data import DataLoader

from ..color import lab_to_rgb_t
from ..metrics import colourfulness_t
from .blend import blend
from .run import RunClock, add_run_arguments, one_thread, open_log, set_up, write_config
from ..models.pix2pix import AB_SCALE, PatchGAN, build_generator, load_generator

ROOT = Path(__file__).resolve().parents[2]
MOBILENET_WEIGHTS = ROOT.parent / "shared" / "weights" / "mobilenet_v2_features_tonylins_tvkeys.pth"


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

    def optimize(self) -> None:
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


# -----------------------------------------------------------------------------
# checkpoints and export

def save_checkpoint(path: str | Path, model: Pix2Pix, config: dict[str, Any],
                    progress: dict[str, Any]) -> None:
    """Everything needed to resume, written atomically (tmp file, then rename)."""
    path = Path(path)
    state = {**model.state_dict(), "config": config, "progress": progress,
             "rng": torch.get_rng_state()}
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def export(ckpt: str | Path, out_path: str | Path, infer_size: int | None = None,
           mix: tuple[str | Path, float] | None = None, saturation: float | None = None) -> None:
    """Write the generator of a checkpoint (full or G-only) as fp16 safetensors, with its
    config (JSON, including `infer_size`, the working short side for inference, and
    `saturation`, the default chroma gain, when given) in metadata.
    ``mix=(other_ckpt, alpha)`` writes ``blend(ckpt, other_ckpt, alpha)`` instead."""
    from safetensors.torch import save_file
    state = torch.load(ckpt, map_location="cpu", weights_only=False)
    if mix is not None:
        other = torch.load(mix[0], map_location="cpu", weights_only=False)
        state = {**other, "G": blend(state["G"], other["G"], float(mix[1])),
                 "progress": {"blend": [str(ckpt), str(mix[0]), float(mix[1])]}}
    config = dict(state["config"])
    if infer_size is not None:
        config["infer_size"] = int(infer_size)
    config.setdefault("infer_size", config.get("train_size", 256))
    if saturation is not None:
        config["saturation"] = float(saturation)
    sd = {k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in state["G"].items()}
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    save_file(sd, str(out_path), metadata={"config": json.dumps(config), "source": str(ckpt),
                                           "progress": json.dumps(state.get("progress", {}))})


# -----------------------------------------------------------------------------
# validation and samples

def lab_batch_to_rgb(L: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """(B,1,H,W) L in [-1,1] and (B,2,H,W) ab/110 -> (B,H,W,3) RGB in [0,1]."""
    lab = torch.cat([(L + 1.0) * 50.0, ab * AB_SCALE], 1).permute(0, 2, 3, 1)
    return lab_to_rgb_t(lab.float())


@torch.no_grad()
def validate(G: nn.Module, loader: DataLoader, device: torch.device) -> dict[str, float]:
    """L1 on ab (x lambda-free, ab/110 units), PSNR (RGB, 255), colourfulness ours / truth."""
    G.eval()
    l1, psnr, cf, cf_gt, n = 0.0, 0.0, 0.0, 0.0, 0
    for L, ab in loader:
        fake = G(L.to(device)).float().cpu()
        rgb, gt = lab_batch_to_rgb(L, fake), lab_batch_to_rgb(L, ab)
        mse = ((rgb - gt) ** 2).flatten(1).mean(1).clamp_min(1e-10)
        l1 += float((fake - ab).abs().mean()) * len(L)
        psnr += float((10 * torch.log10(1.0 / mse)).sum())
        cf += float(colourfulness_t(rgb).sum())
        cf_gt += float(colourfulness_t(gt).sum())
        n += len(L)
    return {"val_l1": l1 / n, "val_psnr": psnr / n, "val_colourfulness": cf / n,
            "val_colourfulness_gt": cf_gt / n}


@torch.no_grad()
def sample_grid(G: nn.Module, L: torch.Tensor, ab: torch.Tensor, path: str | Path,
                device: torch.device) -> None:
    """PNG with one row per image: gray input | ground truth | ours."""
    G.eval()
    fake = G(L.to(device)).float().cpu()
    gray = ((L + 1.0) * 0.5).clamp(0, 1).permute(0, 2, 3, 1).expand(-1, -1, -1, 3)
    rows = [torch.cat([g, t, f], 1) for g, t, f in
            zip(gray, lab_batch_to_rgb(L, ab), lab_batch_to_rgb(L, fake))]
    img = (torch.cat(rows, 0).numpy() * 255).round().astype(np.uint8)
    Image.fromarray(img).save(path)


def evaluate(weights: str | Path, data: str | Path, limit: int = 100, size: int | None = None,
             grid: str | Path | None = None) -> dict[str, float]:
    """Colorize the BT.601 gray of the first `limit` photos of `data` at their native size and
    compare with the originals: mean PSNR (RGB, 255), SSIM, CIEDE2000 and colourfulness, for
    the model and for the gray baseline. Optionally save a grid (gray | truth | ours)."""
    from .. import metrics
    from ..color import gray_to_rgb, luma
    from ..models.pix2pix import colorize
    from .data import list_colour_photos
    G = load_generator(str(weights))
    sums: dict[str, float] = {}
    rows = []
    files = list_colour_photos(data, limit)
    for i, f in enumerate(files):
        gt = np.asarray(Image.open(f).convert("RGB"))
        gray = gray_to_rgb(luma(gt))
        ours = colorize(G, gray, size)
        sums["truth_colourfulness"] = (sums.get("truth_colourfulness", 0.0)
                                       + metrics.colourfulness(gt))
        for name, x in (("gray", gray), ("ours", ours)):
            m = {"psnr": metrics.psnr(x, gt), "ssim": metrics.ssim(x, gt),
                 "ciede2000": metrics.delta_e(x, gt), "colourfulness": metrics.colourfulness(x)}
            for k, v in m.items():
                sums[f"{name}_{k}"] = sums.get(f"{name}_{k}", 0.0) + float(v)
        if grid is not None and i < 5:
            h = 160
            rows.append(np.concatenate([np.asarray(Image.fromarray(x).resize(
                (round(x.shape[1] * h / x.shape[0]), h), Image.BICUBIC)) for x in (gray, gt, ours)], 1))
    res = {k: v / len(files) for k, v in sums.items()}
    res["n"] = len(files)
    if grid is not None:
        w = max(r.shape[1] for r in rows)
        rows = [np.pad(r, ((0, 4), (0, w - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
        Image.fromarray(np.concatenate(rows, 0)).save(grid)
    return res


# -----------------------------------------------------------------------------
# command line


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


def main(args: argparse.Namespace) -> int:
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
    from tqdm import tqdm
    from .data import ColourPhotos, EpochSampler
    set_up(args)
    device = torch.device(args.device)
    out = Path(args.out)
    (out / "samples").mkdir(parents=True, exist_ok=True)

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
    model = Pix2Pix(G, PatchGAN(), args.lr, args.lambda_l1, device, args.freeze_encoder)
    progress = {"epoch": 0, "start": 0, "step": 0, "seconds": 0.0}
    if ckpt is not None:
        model.load_state_dict(ckpt)
        progress = ckpt["progress"]
        torch.set_rng_state(ckpt["rng"])
        print(f"resumed {args.resume}: {progress}")
    write_config(out, config, args)

    train_ds = ColourPhotos(args.data, args.size, train=True, limit=args.limit,
                            crop=args.crop, degrade=args.degrade)
    val_loader = None
    if args.val_data:
        val_ds = ColourPhotos(args.val_data, args.size, train=False, limit=args.val_limit)
        val_loader = DataLoader(val_ds, batch_size=16)
        vis = next(iter(DataLoader(val_ds, batch_size=6)))
    print(f"{config} | {len(train_ds)} train photos | device {device} | "
          f"threads {torch.get_num_threads()}")

    keys = ["loss_D", "loss_D_real", "loss_D_fake", "loss_G_GAN", "loss_G_L1"]
    log, writer = open_log(out / "losses.csv", [
        "time", "epoch", "phase", "step", "seconds", "img_per_s", *keys,
        "val_l1", "val_psnr", "val_colourfulness", "val_colourfulness_gt"])

    total_epochs = args.pretrain_l1 + args.epochs
    clock = RunClock(args, progress["seconds"])

    def save() -> None:
        progress["seconds"] = clock.seconds()
        save_checkpoint(out / "ckpt.pt", model, config, progress)

    stop = False
    while progress["epoch"] < total_epochs and not stop:
        epoch = progress["epoch"]
        phase = "l1" if epoch < args.pretrain_l1 else "gan"
        sampler = EpochSampler(len(train_ds), args.seed, epoch, progress["start"])
        loader = DataLoader(train_ds, batch_size=args.batch, sampler=sampler, drop_last=True,
                            num_workers=args.workers, pin_memory=device.type == "cuda",
                            persistent_workers=False,
                            worker_init_fn=one_thread)
        sums, n, t_log = {k: 0.0 for k in keys}, 0, time.time()
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{total_epochs} {phase}", mininterval=10)
        for L, ab in bar:
            model.set_lr(args.lr * lr_factor(epoch + progress["start"] / len(train_ds),
                                             total_epochs, args.decay_epochs))
            model.set_input(L, ab)
            model.optimize_l1() if phase == "l1" else model.optimize()
            losses = model.losses()
            progress["start"] += len(L)
            progress["step"] += 1
            for k in keys:
                sums[k] += losses[k]
            n += 1
            bar.set_postfix(D=f"{losses['loss_D']:.3f}", G_GAN=f"{losses['loss_G_GAN']:.3f}",
                            L1=f"{losses['loss_G_L1']:.2f}")
            if n == args.log_every:
                ips = n * args.batch / (time.time() - t_log)
                writer.writerow([time.strftime("%H:%M:%S"), epoch, phase, progress["step"],
                                 round(clock.seconds()), round(ips, 2),
                                 *(round(sums[k] / n, 5) for k in keys)])
                log.flush()
                sums, n, t_log = {k: 0.0 for k in keys}, 0, time.time()
            if clock.checkpoint_due():
                save()
            if clock.must_stop(progress["step"]):
                stop = True
                break
        bar.close()
        if stop:
            break
        progress["epoch"] += 1
        progress["start"] = 0
        row = [time.strftime("%H:%M:%S"), epoch, phase + "-end", progress["step"],
               round(clock.seconds()), "", *([""] * len(keys))]
        if val_loader is not None:
            v = validate(model.G, val_loader, device)
            sample_grid(model.G, *vis, out / "samples" / f"epoch_{epoch + 1:03d}.png", device)
            row += [round(v[k], 4) for k in ("val_l1", "val_psnr", "val_colourfulness",
                                             "val_colourfulness_gt")]
            print(f"epoch {epoch + 1} ({phase}) val: {v}")
        writer.writerow(row)
        log.flush()
        torch.save({"G": model.G.state_dict(), "config": config, "progress": dict(progress)},
                   out / f"G_epoch{epoch + 1:03d}.pt")
        save()
        clock.checkpointed()
    save()
    log.close()
    print(f"stopped at {progress}")
    if args.export:
        export(out / "ckpt.pt", args.export, args.infer_size, saturation=args.saturation)
        print(f"exported -> {args.export}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    raise SystemExit(main(parser.parse_args()))
