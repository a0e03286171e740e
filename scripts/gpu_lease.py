#!/usr/bin/env python3
"""One GPU lease, prepared: probe the two trainers' throughput side by side, plan their epochs
to fill the time left, train DeOldify (NoGAN: generator at batch 64, then critic + GAN at batch
32 from it) and pix2pix (L1 then GAN) concurrently, and export fp16 generators (xz) + logs to
$OUT. Every stage is guarded: whatever finished is exported even if a later stage fails.

This is how the shipped weights of 2026-11-30 were trained (weights/README.md). The device
tool sends the working tree (at most 64 MiB), so the data and the two pretrained networks go
in a git-ignored `.gpu/` named in `carry`, and the shipped weights, docs/ and examples/ were
taken out of the index for that one call (`git rm -r -q --cached weights docs examples`, with
the three folders in .git/info/exclude; `git reset` afterwards):

    python scripts/pack_gpu_data.py .gpu/data.tar
    cp ../shared/weights/{mobilenet_v2_features_tonylins_tvkeys,vgg16_features_to_relu3_3_tvkeys}.pth .gpu/
    cp scripts/gpu_lease.py .gpu/go.py
    # device run, carry [".gpu"], timeout 595 s:
    BUDGET=545 PYTHONUNBUFFERED=1 python3 .gpu/go.py 2>&1 | tee $OUT/driver.log

Changed since that lease: the packed data leaves out the 40 train photos that pick snapshots
(scripts/pack_gpu_data.py), and the critic pretrains at `--crit-lr 2e-4` for 2 epochs: at the
default 1e-3 it collapsed to a constant output (BCE 0.693, accuracy 0.50) on the GPU and in a
CPU check at 128 px (weights/README.md).

Smoke test on the CPU: DEV=cpu DATA=<unpacked tar> LIMIT=96 WORKERS=1 PROBE_STEPS=4 BUDGET=260.

FINETUNE=1 (the second lease, thirteenth session) starts both networks from the shipped files
instead of the ImageNet encoder, at SIZE px crops: DeOldify's generator at one-cycle peak LR
3e-4 with no frozen epoch, then critic + GAN as above; pix2pix's GAN phase with a fresh
discriminator at LR 1e-4 falling linearly to 0, no L1 epochs. What travels then (xz-compressed
to fit the 64 MiB):

    python scripts/pack_gpu_data.py .gpu/data.tar --side 176 --quality 50 --max-aspect 1.334 --val 64
    cp weights/deoldify-slim.safetensors weights/pix2pix-mnv2.safetensors \
       ../shared/weights/vgg16_features_to_relu3_3_tvkeys.pth .gpu/ && xz -f .gpu/*.s* .gpu/*.pth
    # device run, carry [".gpu"], timeout 595 s:
    FINETUNE=1 SIZE=192 BUDGET=550 PYTHONUNBUFFERED=1 python3 .gpu/go.py 2>&1 | tee $OUT/driver.log

NETS=deoldify (fourteenth session, not yet run on a GPU) trains DeOldify alone, so the GPU and
the 64 MiB carry are all its own: pix2pix's file stays behind, and photos packed with
`--side 224 --quality 50 --max-aspect 1.334 --val 64` (47.1 MB) fit beside the DeOldify and
VGG16 files (65.9 MB in all; see DEVELOPERS.md). LR_A sets stage A's one-cycle peak LR
(default 3e-4; the thirteenth session's fine-tune at 3e-4 moved the curve down, so 1e-4 is the
next try), and PSNR_WEIGHT passes `--psnr-weight` to stage A (default 0).
"""
import csv
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

T0 = time.time()
BUDGET = float(os.environ.get("BUDGET", 550))   # seconds for this whole command
OUT = Path(os.environ.get("OUT", "/tmp/out"))
G = Path(".gpu")
D = Path(os.environ.get("DATA", "/tmp/d"))
W = Path("/tmp/w")
PY = sys.executable
DEV = os.environ.get("DEV", "cuda")
WORKERS = os.environ.get("WORKERS", "6")
LIMIT = os.environ.get("LIMIT")  # smoke tests: fewer photos
EXPORT_MARGIN = float(os.environ.get("EXPORT_MARGIN", 35))
FINETUNE = os.environ.get("FINETUNE") == "1"
SIZE = os.environ.get("SIZE", "128")
NETS = os.environ.get("NETS", "deoldify,pix2pix").split(",")
P2P = "pix2pix" in NETS
LR_A = os.environ.get("LR_A", "3e-4")
PSNR_WEIGHT = os.environ.get("PSNR_WEIGHT", "0")
INIT_D = ["--init", str(G / "deoldify-slim.safetensors"), "--render-factor", "16"] if FINETUNE else []
INIT_P = ["--init", str(G / "pix2pix-mnv2.safetensors")] if FINETUNE else []
ENC = str(G / "mobilenet_v2_features_tonylins_tvkeys.pth")
VGG = str(G / "vgg16_features_to_relu3_3_tvkeys.pth")
plan: dict = {"budget": BUDGET}


def log(*a):
    print(f"[{time.time() - T0:6.1f}s]", *a, flush=True)


def left() -> float:
    return T0 + BUDGET - EXPORT_MARGIN - time.time()


def common(out: Path, minutes: float) -> list[str]:
    c = ["--device", DEV, "--threads", "2", "--workers", WORKERS, "--ckpt-minutes", "1",
         "--max-minutes", f"{max(minutes, 0.05):.3f}", "--out", str(out), "--log-every", "10"]
    return c + (["--limit", LIMIT] if LIMIT else [])


def deoldify_cmd(out, minutes, *extra):
    return [PY, "-m", "recolor.train.deoldify", "--data", str(D / "train"), "--size", SIZE,
            "--encoder-weights", ENC, "--vgg-weights", VGG, *common(out, minutes), *extra]


def pix2pix_cmd(out, minutes, *extra):
    return [PY, "-m", "recolor.train.pix2pix", "--data", str(D / "train"), "--arch", "mobilenet",
            "--size", SIZE, "--batch", "32", "--encoder-weights", ENC, *common(out, minutes),
            *extra]


def start(cmd, name):
    logf = open(W / f"{name}.log", "w")
    log("start", name, " ".join(cmd[2:]))
    return subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT)


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


def main() -> None:
    W.mkdir(parents=True, exist_ok=True)
    OUT.mkdir(parents=True, exist_ok=True)
    for f in G.glob("*.xz"):  # what was compressed to travel
        subprocess.run(["xz", "-d", "-k", "-f", str(f)], check=True)
    if not (D / "train").is_dir():
        D.mkdir(parents=True, exist_ok=True)
        with tarfile.open(G / "data.tar") as t:
            t.extractall(D)
    n = len(list((D / "train").iterdir()))
    if LIMIT:
        n = min(n, int(LIMIT))
    log("photos", n, "| torch", subprocess.run([PY, "-c", "import torch;print(torch.__version__, "
        "torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu')"],
        capture_output=True, text=True).stdout.strip())

    # 1. probe: 30 steps of each, concurrently (as they will run)
    pl = str(min(n, 2048))
    probe_steps = os.environ.get("PROBE_STEPS", "30")
    pa = start(deoldify_cmd(W / "probe_d", 2, "--val-data", "", "--batch", "64", "--gen-epochs",
                            "9", "--freeze-epochs", "0", "--max-steps", probe_steps, "--limit", pl,
                            "--log-every", "5", *INIT_D), "probe_d")
    pb = start(pix2pix_cmd(W / "probe_p", 2, "--val-data", "", "--pretrain-l1", "9", "--epochs",
                           "1", "--max-steps", probe_steps, "--limit", pl, "--log-every", "5",
                           *INIT_P), "probe_p") if P2P else None
    wait(pa, 240)
    if P2P:
        wait(pb, 240)
    rD = rate(W / "probe_d" / "losses.csv")
    rP = rate(W / "probe_p" / "losses.csv") if P2P else 0.0
    rD, rP = rD or 300.0, rP or 300.0
    T = left()
    p2p = f", pix2pix L1 {rP:.0f} img/s" if P2P else ""
    log(f"probe: deoldify gen {rD:.0f} img/s{p2p}; {T:.0f} s to train")

    # 2. plan: DeOldify gen 60 % of T; critic 2 epochs + GAN the rest. pix2pix L1 40 %, GAN 60 %.
    # DeOldify's stage A ran at 0.6x its probe's rate on the first lease (421 vs 705 img/s: per-
    # epoch val, grids, checkpoints, the loader), so planning at the probe's rate left its
    # one-cycle LR half-way down when the time cap stopped it (25 of 39 epochs)
    rA = 0.6 * rD
    eA = int(clamp(0.6 * T * rA / n, 1, 80))
    tA = 0.6 * T
    gan_rate = 0.45 * rD        # critic/generator turns at batch 32, VGG + critic in G's turns
    tB = T - eA * n / rA
    gan_f = round(clamp((tB - 2 * n / (1.2 * rD) - 10) * gan_rate / n, 0.5, 30), 2)
    e1 = int(clamp(0.4 * T * rP / n, 1, 40))
    e2 = int(clamp(0.6 * T * 0.55 * rP / n, 1, 40))
    if FINETUNE:  # pix2pix: GAN epochs only, all the time
        e1, e2 = 0, int(clamp(T * 0.55 * rP / n, 1, 40))
    plan.update(n=n, rate_deoldify_gen=rD, planned_rate_deoldify_gen=rA, rate_pix2pix_l1=rP,
                train_seconds=T, gen_epochs=eA, gan_fraction=gan_f, p2p_l1_epochs=e1,
                p2p_gan_epochs=e2)
    log("plan", json.dumps(plan))

    # 3. train
    tune_p = ["--decay-epochs", str(e2), "--lr", "1e-4", *INIT_P] if FINETUNE else []
    pP = start(pix2pix_cmd(W / "P", T / 60, "--val-limit", "96", "--val-data", str(D / "val"),
                           "--pretrain-l1", str(e1), "--epochs", str(e2), *tune_p),
               "P") if P2P else None
    if FINETUNE:
        tune_a = ["--freeze-epochs", "0", "--lr", LR_A, "--psnr-weight", PSNR_WEIGHT, *INIT_D]
    else:
        tune_a = ["--freeze-epochs", "1", "--lr", "1e-3"]
    pA = start(deoldify_cmd(W / "A", tA / 60 + 0.5, "--val-data", str(D / "val"),
                            "--val-limit", "96", "--batch", "64", "--gen-epochs", str(eA),
                            *tune_a, "--crit-epochs", "0", "--gan-fraction", "0"), "A")
    wait(pA, left() + 20)
    plan["A_seconds"] = time.time() - T0
    if (W / "A" / "ckpt.pt").is_file() and left() > 30:
        pB = start(deoldify_cmd(W / "B", left() / 60, "--val-data", str(D / "val"),
                                "--val-limit", "311", "--batch", "32", "--init",
                                str(W / "A" / "ckpt.pt"), "--gen-epochs", "0", "--crit-epochs",
                                "2", "--crit-lr", "2e-4", "--gan-fraction", str(gan_f),
                                "--gan-ckpt-fraction", str(round(gan_f / 4, 3)), "--gan-lr",
                                "7e-5", *INIT_D[2:]), "B")
        wait(pB, left() + 20)
    if P2P:
        wait(pP, left() + 20)
    log("training done")


def export_all() -> None:
    sys.path.insert(0, os.getcwd())
    from recolor.train import deoldify as td
    from recolor.train import pix2pix as tp
    exp = W / "exp"
    exp.mkdir(exist_ok=True)
    jobs = []  # (name, function)
    jobs.append(("deoldify-gen", lambda p: td.export(W / "A" / "ckpt.pt", p)))
    snaps = sorted((W / "B").glob("G_gan_*.pt"))
    if len(snaps) >= 3:
        mid = snaps[len(snaps) // 2 - 1]
        plan["B_mid"] = mid.name
        jobs.append(("deoldify-ganmid", lambda p, m=mid: td.export(m, p)))
    jobs.append(("deoldify-gan", lambda p: td.export(W / "B" / "ckpt.pt", p)))
    p_snaps = sorted((W / "P").glob("G_epoch*.pt"))
    if P2P and FINETUNE and len(p_snaps) >= 2:  # half-way down the LR's fall
        mid_p = p_snaps[len(p_snaps) // 2 - 1]
        plan["P_mid"] = mid_p.name
        jobs.append(("pix2pix-mid", lambda p: tp.export(mid_p, p, 192)))
    elif P2P:
        l1 = W / "P" / f"G_epoch{plan.get('p2p_l1_epochs', 0):03d}.pt"
        jobs.append(("pix2pix-l1", lambda p: tp.export(l1, p, 192)))
    if P2P:
        jobs.append(("pix2pix-gan", lambda p: tp.export(W / "P" / "ckpt.pt", p, 192)))
    for name, fn in jobs:
        try:
            p = exp / f"{name}.safetensors"
            fn(p)
            subprocess.run(["xz", "-T0", "-6", "-f", str(p)], check=True)
            shutil.move(str(p) + ".xz", OUT / f"{name}.safetensors.xz")
            log("exported", name)
        except Exception as e:  # noqa: BLE001
            log("export failed", name, repr(e))


def pack_logs() -> None:
    (W / "plan.json").write_text(json.dumps(plan, indent=1))
    with tarfile.open(OUT / "logs.tar.gz", "w:gz") as t:
        for p in sorted(W.rglob("*")):
            rel = p.relative_to(W)
            if p.suffix in (".csv", ".json", ".log"):
                t.add(p, str(rel))
        for run in ("A", "B", "P"):
            grids = sorted((W / run / "samples").glob("*.png"))
            keep = grids[-1:] if FINETUNE else grids[:1] + grids[-2:]  # $OUT's 64 MiB
            for p in dict.fromkeys(keep):  # first and last two (fine-tune: the last), once each
                t.add(p, str(p.relative_to(W)))


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001
        log("main failed", repr(e))
    subprocess.run(["pkill", "-f", "recolor.train"])  # a trainer left behind by a failure
    time.sleep(1)
    export_all()
    pack_logs()
    for f in sorted(OUT.iterdir()):
        log(f.name, f.stat().st_size)
    for name in ("A", "B", "P"):
        f = W / f"{name}.log"
        if f.is_file():
            print(f"--- {name}.log tail", *f.read_text().splitlines()[-4:], sep="\n")
    log("done", json.dumps(plan))
