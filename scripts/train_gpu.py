#!/usr/bin/env python3
"""Train both networks on a machine with a GPU, in a fixed time budget.

Probes the two trainers' throughput side by side, plans their epochs to fill the budget, trains
DeOldify (NoGAN: the generator at batch 64, then the critic and the GAN phase at batch 32 from
it) and pix2pix (L1, then GAN) at the same time on the one GPU, and exports fp16 generators
with the logs to `--out`. Every stage is guarded: whatever finished is exported even if a later
stage fails. Run it from the repository root; the candidates it exports are then judged on the
validation set as `DEVELOPERS.md` says.

From the ImageNet encoder (the recipe of both shipped files' first stage; their model cards in
`weights/` give the commands it ran):

    python scripts/train_gpu.py --data ../shared/data --budget 3600 --out runs/gpu

Continuing both shipped files at larger crops instead (`--finetune`: DeOldify's generator at
one-cycle peak LR `--lr-a` with no frozen epoch, then critic and GAN as above; pix2pix's GAN
phase with a fresh discriminator, its LR falling linearly from 1e-4 to 0, no L1 epochs):

    python scripts/train_gpu.py --data ../shared/data --finetune --size 192 --budget 3600

When the photos have to be copied to the GPU machine, `scripts/pack_gpu_data.py` packs them
small into one tar, which `--data` also takes. `--nets deoldify` trains DeOldify alone.
The critic pretrains at `--crit-lr 2e-4` for 2 epochs: at the trainer's default 1e-3 it
collapsed to a constant output (BCE 0.693, accuracy 0.50) at 128 px, on a GPU and on a CPU.

A quick check on a CPU: `--device cpu --limit 96 --workers 1 --probe-steps 4 --budget 260`.
"""
from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
T0 = time.time()
PY = sys.executable
A = argparse.Namespace()   # the command line, set in __main__
plan: dict = {}
children: list[subprocess.Popen] = []


def log(*a):
    print(f"[{time.time() - T0:6.1f}s]", *a, flush=True)


def left() -> float:
    """Seconds of training left, keeping `--export-margin` for the exports."""
    return T0 + A.budget - A.export_margin - time.time()


def common(out: Path, minutes: float) -> list[str]:
    c = ["--device", A.device, "--threads", "2", "--workers", str(A.workers), "--ckpt-minutes",
         "1", "--max-minutes", f"{max(minutes, 0.05):.3f}", "--out", str(out), "--log-every", "10"]
    return c + (["--limit", str(A.limit)] if A.limit else [])


def deoldify_cmd(out, minutes, *extra):
    return [PY, "-m", "recolor.train.deoldify", "--data", str(A.photos / "train"), "--size",
            str(A.size), "--encoder-weights", str(A.encoder), "--vgg-weights", str(A.vgg),
            *common(out, minutes), *extra]


def pix2pix_cmd(out, minutes, *extra):
    return [PY, "-m", "recolor.train.pix2pix", "--data", str(A.photos / "train"), "--arch",
            "mobilenet", "--size", str(A.size), "--batch", "32", "--encoder-weights",
            str(A.encoder), *common(out, minutes), *extra]


def start(cmd, name):
    logf = open(A.work / f"{name}.log", "w")
    log("start", name, " ".join(cmd[2:]))
    p = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, cwd=ROOT)
    children.append(p)
    return p


def wait(p, seconds: float) -> None:
    """Wait for a trainer; past its time, stop it (its last checkpoint is at most a minute old)."""
    try:
        p.wait(timeout=max(5.0, seconds))
    except subprocess.TimeoutExpired:
        log("overran, stopping", p.args[2])
        p.terminate()
        p.wait()


def rate(csv_path: Path, col: str = "img_per_s") -> float:
    """Mean img/s of the last 3 logged rows (the first ones include warm-up)."""
    try:
        rows = [r for r in csv.DictReader(open(csv_path)) if r.get(col)]
        vals = [float(r[col]) for r in rows][-3:]
        return sum(vals) / len(vals)
    except Exception as e:  # noqa: BLE001
        log("no rate in", csv_path, e)
        return 0.0


def clamp(x, lo, hi):
    return max(lo, min(hi, x))


def photos() -> Path:
    """The folder holding train/ and val/: `--data` itself, or its tar unpacked in the work folder."""
    if A.data.is_dir():
        return A.data
    d = A.work / "data"
    if not (d / "train").is_dir():
        d.mkdir(parents=True, exist_ok=True)
        with tarfile.open(A.data) as t:
            t.extractall(d)
    return d


def main() -> None:
    A.photos = photos()
    n = len(list((A.photos / "train").iterdir()))
    if A.limit:
        n = min(n, A.limit)
    log("photos", n, "| torch", subprocess.run([PY, "-c", "import torch;print(torch.__version__, "
        "torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu')"],
        capture_output=True, text=True).stdout.strip())
    init_d = ["--init", str(A.init_dir / "deoldify-slim.safetensors"), "--render-factor", "16"] \
        if A.finetune else []
    init_p = ["--init", str(A.init_dir / "pix2pix-mnv2.safetensors")] if A.finetune else []
    p2p = "pix2pix" in A.nets
    W = A.work

    # 1. probe: a few steps of each, concurrently (as they will run)
    pl, steps = str(min(n, 2048)), str(A.probe_steps)
    pa = start(deoldify_cmd(W / "probe_d", 2, "--val-data", "", "--batch", "64", "--gen-epochs",
                            "9", "--freeze-epochs", "0", "--max-steps", steps, "--limit", pl,
                            "--log-every", "5", *init_d), "probe_d")
    pb = start(pix2pix_cmd(W / "probe_p", 2, "--val-data", "", "--pretrain-l1", "9", "--epochs",
                           "1", "--max-steps", steps, "--limit", pl, "--log-every", "5",
                           *init_p), "probe_p") if p2p else None
    wait(pa, 240)
    if p2p:
        wait(pb, 240)
    rD = rate(W / "probe_d" / "losses.csv") or 300.0
    rP = (rate(W / "probe_p" / "losses.csv") if p2p else 0.0) or 300.0
    T = left()
    log(f"probe: deoldify gen {rD:.0f} img/s" + (f", pix2pix L1 {rP:.0f} img/s" if p2p else "")
        + f"; {T:.0f} s to train")

    # 2. plan: DeOldify's generator 60 % of T, then critic 2 epochs and GAN the rest; pix2pix
    # L1 40 %, GAN 60 %. The generator's real rate is about 0.6x the probe's (per-epoch val,
    # grids, checkpoints, the loader): planned at the probe's rate, its one-cycle LR would still
    # be half-way down when the time cap stops it
    rA = 0.6 * rD
    eA = int(clamp(0.6 * T * rA / n, 1, 80))
    tA = 0.6 * T
    gan_rate = 0.45 * rD        # critic/generator turns at batch 32, VGG + critic in G's turns
    tB = T - eA * n / rA
    gan_f = round(clamp((tB - 2 * n / (1.2 * rD) - 10) * gan_rate / n, 0.5, 30), 2)
    e1 = int(clamp(0.4 * T * rP / n, 1, 40))
    e2 = int(clamp(0.6 * T * 0.55 * rP / n, 1, 40))
    if A.finetune:  # pix2pix: GAN epochs only, all the time
        e1, e2 = 0, int(clamp(T * 0.55 * rP / n, 1, 40))
    plan.update(n=n, rate_deoldify_gen=rD, planned_rate_deoldify_gen=rA, rate_pix2pix_l1=rP,
                train_seconds=T, gen_epochs=eA, gan_fraction=gan_f, p2p_l1_epochs=e1,
                p2p_gan_epochs=e2)
    log("plan", json.dumps(plan))

    # 3. train
    val = str(A.photos / "val")
    tune_p = ["--decay-epochs", str(e2), "--lr", "1e-4", *init_p] if A.finetune else []
    pP = start(pix2pix_cmd(W / "P", T / 60, "--val-limit", "96", "--val-data", val,
                           "--pretrain-l1", str(e1), "--epochs", str(e2), *tune_p),
               "P") if p2p else None
    if A.finetune:
        tune_a = ["--freeze-epochs", "0", "--lr", str(A.lr_a), "--psnr-weight",
                  str(A.psnr_weight), *init_d]
    else:
        tune_a = ["--freeze-epochs", "1", "--lr", "1e-3"]
    pA = start(deoldify_cmd(W / "A", tA / 60 + 0.5, "--val-data", val, "--val-limit", "96",
                            "--batch", "64", "--gen-epochs", str(eA), *tune_a, "--crit-epochs",
                            "0", "--gan-fraction", "0"), "A")
    wait(pA, left() + 20)
    plan["A_seconds"] = time.time() - T0
    if (W / "A" / "ckpt.pt").is_file() and left() > 30:
        pB = start(deoldify_cmd(W / "B", left() / 60, "--val-data", val, "--val-limit", "311",
                                "--batch", "32", "--init", str(W / "A" / "ckpt.pt"),
                                "--gen-epochs", "0", "--crit-epochs", "2", "--crit-lr", "2e-4",
                                "--gan-fraction", str(gan_f), "--gan-ckpt-fraction",
                                str(round(gan_f / 4, 3)), "--gan-lr", "7e-5", *init_d[2:]), "B")
        wait(pB, left() + 20)
    if p2p:
        wait(pP, left() + 20)
    log("training done")


def export_all() -> None:
    """fp16 generators into --out: DeOldify after its generator stage, half-way through the GAN
    phase and at the end; pix2pix after its L1 epochs (fine-tune: half-way) and at the end."""
    sys.path.insert(0, str(ROOT))
    from recolor.train import deoldify as td
    from recolor.train import pix2pix as tp
    W, exp = A.work, A.work / "exp"
    exp.mkdir(exist_ok=True)
    p2p = "pix2pix" in A.nets
    jobs = [("deoldify-gen", lambda p: td.export(W / "A" / "ckpt.pt", p))]
    snaps = sorted((W / "B").glob("G_gan_*.pt"))
    if len(snaps) >= 3:
        mid = snaps[len(snaps) // 2 - 1]
        plan["B_mid"] = mid.name
        jobs.append(("deoldify-ganmid", lambda p, m=mid: td.export(m, p)))
    jobs.append(("deoldify-gan", lambda p: td.export(W / "B" / "ckpt.pt", p)))
    p_snaps = sorted((W / "P").glob("G_epoch*.pt"))
    if p2p and A.finetune and len(p_snaps) >= 2:  # half-way down the LR's fall
        mid_p = p_snaps[len(p_snaps) // 2 - 1]
        plan["P_mid"] = mid_p.name
        jobs.append(("pix2pix-mid", lambda p: tp.export(mid_p, p, 192)))
    elif p2p:
        l1 = W / "P" / f"G_epoch{plan.get('p2p_l1_epochs', 0):03d}.pt"
        jobs.append(("pix2pix-l1", lambda p: tp.export(l1, p, 192)))
    if p2p:
        jobs.append(("pix2pix-gan", lambda p: tp.export(W / "P" / "ckpt.pt", p, 192)))
    for name, fn in jobs:
        try:
            p = exp / f"{name}.safetensors"
            fn(p)
            if A.xz:  # smaller to copy back
                subprocess.run(["xz", "-T0", "-6", "-f", str(p)], check=True)
                p = Path(str(p) + ".xz")
            shutil.move(str(p), A.out / p.name)
            log("exported", name)
        except Exception as e:  # noqa: BLE001
            log("export failed", name, repr(e))


def pack_logs() -> None:
    """The runs' CSV, JSON and log files, and a few sample grids, as --out/logs.tar.gz."""
    W = A.work
    (W / "plan.json").write_text(json.dumps(plan, indent=1))
    with tarfile.open(A.out / "logs.tar.gz", "w:gz") as t:
        for p in sorted(W.rglob("*")):
            if p.suffix in (".csv", ".json", ".log") and "data" not in p.relative_to(W).parts:
                t.add(p, str(p.relative_to(W)))
        for run in ("A", "B", "P"):
            grids = sorted((W / run / "samples").glob("*.png"))
            keep = grids[-1:] if A.finetune else grids[:1] + grids[-2:]
            for p in dict.fromkeys(keep):  # first and last two (fine-tune: the last), once each
                t.add(p, str(p.relative_to(W)))


def parse(argv=None) -> argparse.Namespace:
    shared = ROOT.parent / "shared"
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=shared / "data",
                   help="folder with train/ and val/ photos, or a tar of them "
                        "(scripts/pack_gpu_data.py)")
    p.add_argument("--pretrained", type=Path, default=shared / "weights",
                   help="folder with the ImageNet MobileNetV2 and VGG16 feature files")
    p.add_argument("--out", type=Path, default=ROOT / "runs" / "gpu",
                   help="exported generators and logs.tar.gz")
    p.add_argument("--work", type=Path, default=None,
                   help="run folders (checkpoints, samples; default: OUT/work)")
    p.add_argument("--budget", type=float, default=3600, help="seconds for the whole command")
    p.add_argument("--export-margin", type=float, default=35,
                   help="seconds kept at the end for the exports")
    p.add_argument("--nets", default="deoldify,pix2pix", help="deoldify, pix2pix, or both")
    p.add_argument("--finetune", action="store_true",
                   help="start from the files in --init-dir instead of the ImageNet encoder")
    p.add_argument("--init-dir", type=Path, default=ROOT / "weights",
                   help="with --finetune: where deoldify-slim and pix2pix-mnv2.safetensors are")
    p.add_argument("--size", type=int, default=128, help="training crop size, px")
    p.add_argument("--lr-a", type=float, default=3e-4,
                   help="with --finetune: DeOldify generator's one-cycle peak LR")
    p.add_argument("--psnr-weight", type=float, default=0.0,
                   help="with --finetune: DeOldify generator's --psnr-weight")
    p.add_argument("--device", default="cuda")
    p.add_argument("--workers", type=int, default=6, help="data loader processes per trainer")
    p.add_argument("--limit", type=int, default=None, help="use only the first N train photos")
    p.add_argument("--probe-steps", type=int, default=30, help="steps of each trainer's probe")
    p.add_argument("--xz", action="store_true", help="xz-compress the exported generators")
    a = p.parse_args(argv)
    a.nets = a.nets.split(",")
    a.encoder = a.pretrained / "mobilenet_v2_features_tonylins_tvkeys.pth"
    a.vgg = a.pretrained / "vgg16_features_to_relu3_3_tvkeys.pth"
    a.work = a.work or a.out / "work"
    return a


if __name__ == "__main__":
    A = parse()
    A.out.mkdir(parents=True, exist_ok=True)
    A.work.mkdir(parents=True, exist_ok=True)
    plan["budget"] = A.budget
    try:
        main()
    except Exception as e:  # noqa: BLE001
        log("main failed", repr(e))
    for child in children:  # a trainer left behind by a failure
        if child.poll() is None:
            child.terminate()
            child.wait()
    export_all()
    pack_logs()
    for f in sorted(A.out.iterdir()):
        log(f.name, f.stat().st_size)
    for name in ("A", "B", "P"):
        f = A.work / f"{name}.log"
        if f.is_file():
            print(f"--- {name}.log tail", *f.read_text().splitlines()[-4:], sep="\n")
    log("done", json.dumps(plan))
