"""pix2pix: the training loop on tiny data, checkpoints, export, inference shapes, shipped weights."""
from __future__ import annotations

import argparse
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader

from recolor.color import luma, rgb_to_lab, rgb_to_yuv
from recolor.models.pix2pix import (PatchGAN, Settings, UNetClassic, build_generator,
                                    colorize, load_generator)
from recolor.train import pix2pix as train
from recolor.train.blend import blend
from recolor.train.data import ColourPhotos

ROOT = Path(__file__).resolve().parents[1]
VAL = ROOT.parent / "shared" / "data" / "val"
SHIPPED = sorted((ROOT / "weights").glob("pix2pix-*.safetensors"))


def photo(i: int = 0) -> np.ndarray:
    """A real val photo if ../shared is there, else a smooth synthetic colour image."""
    files = sorted(VAL.glob("*.jpg")) if VAL.is_dir() else []
    if files:
        return np.asarray(Image.open(files[i * 37 % len(files)]).convert("RGB"))
    y, x = np.mgrid[0:96, 0:128].astype(np.float32)
    return np.stack([x * 2, y * 2.5, 255 - x - y + 20 * i], -1).clip(0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six small colour photos (and one gray one, which the dataset must skip)."""
    d = tmp_path_factory.mktemp("tiny")
    for i in range(6):
        Image.fromarray(photo(i)).resize((48, 40), Image.BICUBIC).save(d / f"p{i}.png")
    gray = np.repeat(np.asarray(Image.fromarray(photo(0)).convert("L").resize((48, 40)))[..., None], 3, -1)
    Image.fromarray(gray).save(d / "gray.png")
    return d


def args_for(tiny: Path, out: Path, *extra: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    train.add_arguments(p)
    return p.parse_args(["--data", str(tiny), "--val-data", str(tiny), "--val-limit", "4",
                         "--arch", "classic", "--ngf", "8", "--size", "32", "--batch", "2",
                         "--epochs", "1", "--threads", "2", "--workers", "0", "--log-every", "1",
                         "--out", str(out), *extra])


def snapshot(net: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def moved(before: dict[str, torch.Tensor], net: torch.nn.Module) -> bool:
    return any(not torch.equal(before[k], v) for k, v in net.state_dict().items()
               if v.is_floating_point())


def test_dataset_skips_gray_and_scales(tiny: Path) -> None:
    ds = ColourPhotos(tiny, 32)
    assert len(ds) == 6
    L, ab = ds[0]
    assert L.shape == (1, 32, 32) and ab.shape == (2, 32, 32)
    assert -1.0 <= float(L.min()) and float(L.max()) <= 1.0 and float(ab.abs().max()) < 1.0


def test_whole_crop_is_the_photo_stretched_as_deoldify_infers(tiny: Path) -> None:
    np.random.seed(0)  # the flips drawn
    ds = ColourPhotos(tiny, 32, crop="whole")
    with Image.open(ds.files[0]) as im:
        want = np.asarray(im.convert("RGB").resize((32, 32), Image.BILINEAR))
    got = [ds._random_crop(Image.open(ds.files[0]).convert("RGB")) for _ in range(16)]
    arrays = {np.asarray(g).tobytes() for g in got}
    assert arrays == {want.tobytes(), np.ascontiguousarray(want[:, ::-1]).tobytes()}  # + mirror
    with pytest.raises(ValueError, match="crop must be one of"):
        ColourPhotos(tiny, 32, crop="centre")


def test_loop_runs_losses_finite_weights_move(tiny: Path) -> None:
    torch.manual_seed(0)
    model = train.Pix2Pix(UNetClassic(num_downs=5, ngf=8), PatchGAN(ndf=8))
    g0, d0 = snapshot(model.G), snapshot(model.D)
    batches = iter(DataLoader(ColourPhotos(tiny, 32), batch_size=2))
    model.set_input(*next(batches))
    model.optimize_l1()  # L1 pretraining step: G only
    assert moved(g0, model.G) and not moved(d0, model.D)
    assert model.loss_G_GAN.item() == 0.0 and math.isfinite(model.loss_G_L1.item())
    g1 = snapshot(model.G)
    for _ in range(2):
        model.set_input(*next(batches))
        model.optimize_parameters()
        assert all(math.isfinite(v) for v in model.losses().values())
    assert model.loss_D.item() > 0 and model.loss_G_GAN.item() > 0
    assert moved(g1, model.G) and moved(d0, model.D)
    # D is frozen after its step, as in the paper (set_requires_grad(D, False) for the G step)
    assert not any(p.requires_grad for p in model.D.parameters())


def test_frozen_encoder_keeps_weights_and_bn_statistics(tiny: Path, tmp_path: Path) -> None:
    """--freeze-encoder trains the decoder only: the encoder's weights and its BatchNorm running
    statistics stay as they were, in L1 and in GAN steps."""
    torch.manual_seed(0)
    G = build_generator({"arch": "mobilenet", "width": 8})
    model = train.Pix2Pix(G, PatchGAN(ndf=8), freeze_encoder=True)
    enc0, dec0 = snapshot(G.encoder), snapshot(G.up1)
    batches = iter(DataLoader(ColourPhotos(tiny, 32), batch_size=2))
    model.set_input(*next(batches))
    model.optimize_l1()
    model.set_input(*next(batches))
    model.optimize_parameters()
    assert not moved(enc0, G.encoder) and moved(dec0, G.up1)
    assert not G.encoder.training and G.up1.training
    n_opt = sum(p.numel() for group in model.opt_G.param_groups for p in group["params"])
    assert n_opt == sum(p.numel() for p in G.parameters()) - \
        sum(p.numel() for p in G.encoder.parameters())
    with pytest.raises(SystemExit, match="mobilenet"):  # the classic U-Net has no encoder
        train.main(args_for(tiny, tmp_path / "x", "--freeze-encoder", "--max-steps", "1"))


def test_checkpoint_resume_and_export(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert train.main(args_for(tiny, out, "--pretrain-l1", "1", "--max-steps", "2")) == 0
    ckpt = torch.load(out / "ckpt.pt", weights_only=False)
    assert ckpt["progress"]["step"] == 2
    log = (out / "losses.csv").read_text().splitlines()
    assert len(log) >= 3 and all("nan" not in row for row in log)

    # a fresh model that loads the checkpoint has exactly the saved state
    fresh = train.Pix2Pix(build_generator(ckpt["config"]), PatchGAN())
    fresh.load_state_dict(ckpt)
    for name, sd in fresh.state_dict().items():
        flat, saved = _flatten(sd), _flatten(ckpt[name])
        assert flat.keys() == saved.keys()
        assert all(_same(flat[k], saved[k]) for k in flat), name

    # resuming continues from the saved step, into the GAN phase, then writes epoch outputs
    assert train.main(args_for(tiny, out, "--pretrain-l1", "1", "--resume",
                               str(out / "ckpt.pt"))) == 0
    ckpt2 = torch.load(out / "ckpt.pt", weights_only=False)
    assert ckpt2["progress"]["epoch"] == 2 and ckpt2["progress"]["step"] == 6
    assert (out / "samples" / "epoch_002.png").exists() and (out / "G_epoch002.pt").exists()
    assert not torch.equal(ckpt2["D"]["net.0.weight"], ckpt["D"]["net.0.weight"])

    # export -> fp16 safetensors that load_generator reads back
    path = tmp_path / "g.safetensors"
    train.export(out / "ckpt.pt", path, infer_size=32)
    G = load_generator(str(path))
    assert G.config["infer_size"] == 32 and G.settings.size == 32 and not G.training
    ref = ckpt2["G"]["net.model.0.weight"].half().float()
    assert torch.equal(G.state_dict()["net.model.0.weight"], ref)
    assert "saturation" not in G.config
    train.export(out / "ckpt.pt", path, infer_size=32, saturation=1.3)
    assert load_generator(str(path)).settings.saturation == 1.3  # colorize's default gain

    # network interpolation between the L1 epoch's G and the last one
    first = out / "G_epoch001.pt"
    a = torch.load(first, weights_only=False)["G"]["net.model.0.weight"]
    b = ckpt2["G"]["net.model.0.weight"]
    assert not torch.equal(a, b)
    train.export(first, path, infer_size=32, mix=(out / "ckpt.pt", 0.25))
    got = load_generator(str(path)).state_dict()["net.model.0.weight"]
    assert torch.equal(got, (0.75 * a + 0.25 * b).half().float())
    with pytest.raises(ValueError):
        blend({"x": a}, {"y": a}, 0.5)


def test_lr_factor_is_the_linear_policy() -> None:
    assert train.lr_factor(3.0, 10, 0) == 1.0  # no decay asked for
    assert train.lr_factor(5.0, 10, 4) == 1.0  # before the last 4 epochs
    assert train.lr_factor(6.0, 10, 4) == 1.0 and train.lr_factor(8.0, 10, 4) == 0.5
    assert train.lr_factor(9.5, 10, 4) == pytest.approx(0.125) and train.lr_factor(10, 10, 4) == 0.0


def test_cli_init_from_shipped_file_with_decay(tiny: Path, tmp_path: Path) -> None:
    """`python -m recolor train pix2pix --init W.safetensors --decay-epochs N` starts G from the
    file (its architecture and weights) and lowers the LR linearly toward 0 step by step."""
    from recolor.cli import main as cli_main
    first = tmp_path / "first"
    assert train.main(args_for(tiny, first, "--max-steps", "1")) == 0
    init = tmp_path / "init.safetensors"
    train.export(first / "ckpt.pt", init, infer_size=48, saturation=1.2)
    out = tmp_path / "cont"
    argv = ["train", "pix2pix", "--data", str(tiny), "--val-data", "", "--size", "32",
            "--batch", "2", "--threads", "2", "--workers", "0", "--log-every", "1",
            "--init", str(init)]
    # 0 epochs: the run only builds G from --init and saves it
    assert cli_main([*argv, "--epochs", "0", "--out", str(out)]) == 0
    ckpt0 = torch.load(out / "ckpt.pt", weights_only=False)
    assert ckpt0["config"]["arch"] == "classic" and ckpt0["config"]["ngf"] == 8
    assert "infer_size" not in ckpt0["config"] and ckpt0["config"]["train_size"] == 32
    assert "saturation" not in ckpt0["config"]  # an inference default, not the new run's
    start = load_generator(str(init)).state_dict()
    assert all(torch.equal(start[k], v.float()) for k, v in ckpt0["G"].items()
               if v.is_floating_point())
    assert (out / "config.json").exists()  # the CLI's namespace (with its func) is written

    out2 = tmp_path / "cont2"
    assert cli_main([*argv, "--epochs", "2", "--decay-epochs", "2", "--out", str(out2)]) == 0
    ckpt = torch.load(out2 / "ckpt.pt", weights_only=False)
    assert ckpt["progress"]["epoch"] == 2 and ckpt["progress"]["step"] == 6
    lrs = [g["lr"] for g in ckpt["opt_G"]["param_groups"] + ckpt["opt_D"]["param_groups"]]
    # 3 steps an epoch: the last (6th) step started 1 + 2/3 epochs in, so its LR is 1/6 of 2e-4
    assert lrs == pytest.approx([2e-4 * train.lr_factor(1 + 2 / 3, 2, 2)] * 2)
    assert 0 < lrs[0] < 2e-4 / 5


def _flatten(sd: dict, prefix: str = "") -> dict[str, object]:
    """Nested state dict (optimizer states included) -> {dotted key: leaf}."""
    flat: dict[str, object] = {}
    for k, v in sd.items():
        if isinstance(v, (list, tuple)):
            v = dict(enumerate(v))
        if isinstance(v, dict):
            flat.update(_flatten(v, f"{prefix}{k}."))
        else:
            flat[f"{prefix}{k}"] = v
    return flat


def _same(a: object, b: object) -> bool:
    return torch.equal(a, b) if isinstance(a, torch.Tensor) else a == b


@pytest.mark.parametrize("arch", ["classic", "mobilenet"])
@pytest.mark.parametrize("hw", [(37, 53), (101, 67)])
def test_colorize_any_size_keeps_luma(arch: str, hw: tuple[int, int]) -> None:
    torch.manual_seed(0)
    G = build_generator({"arch": arch}).eval()  # full-size configs, random weights
    rgb = np.ascontiguousarray(photo(1)[: hw[0], : hw[1]])
    out = colorize(G, rgb, size=64)
    assert out.shape == rgb.shape and out.dtype == np.uint8
    dY = np.abs(luma(out).astype(int) - luma(rgb).astype(int))
    assert np.median(dY) <= 1  # the photo's luma is kept (up to rounding and gamut clipping)
    assert colorize(G, rgb[..., 0], size=64).shape == rgb.shape  # (H, W) gray input too


class _Ramp(nn.Module):
    """A stand-in generator that is not mirror-symmetric: a from -0.3 (left) to 0.3 (right),
    b following L."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(0.3))

    def forward(self, L: torch.Tensor) -> torch.Tensor:
        ramp = torch.linspace(-1, 1, L.shape[-1]).expand_as(L) * self.scale
        return torch.cat([ramp, 0.2 * L], 1)


def test_passes_average_the_mirror_image_and_two_sizes() -> None:
    """passes=2 averages the photo's and its mirror's ab, the mirror's mirrored back: a
    left-right ramp cancels; passes=4 adds two sizes and keeps the luma; None: the model's."""
    G = _Ramp()
    rgb = np.ascontiguousarray(photo(1)[:45, :70])
    a = lambda x: rgb_to_lab(x)[..., 1]  # noqa: E731
    left_right = lambda x: a(x)[:, :15].mean() - a(x)[:, -15:].mean()  # noqa: E731
    one, two, four = (colorize(G, rgb, size=64, passes=n) for n in (1, 2, 4))
    assert left_right(one) < -20 and abs(left_right(two)) < 2 and abs(left_right(four)) < 2
    assert np.abs(rgb_to_lab(two)[..., 2] - rgb_to_lab(one)[..., 2]).mean() < 1  # b: as one
    assert not np.array_equal(four, two)
    assert np.median(np.abs(luma(four).astype(int) - luma(rgb).astype(int))) <= 1
    G.settings = Settings(passes=2)
    assert np.array_equal(colorize(G, rgb, size=64), two)
    with pytest.raises(ValueError, match="passes"):
        colorize(G, rgb, size=64, passes=3)


@pytest.mark.skipif(not SHIPPED, reason="no weights/pix2pix-*.safetensors shipped yet")
@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_weights_colorize(path: Path) -> None:
    G = load_generator(str(path))
    rgb = photo(2)
    gray = np.repeat(np.asarray(Image.fromarray(rgb).convert("L"))[..., None], 3, -1)
    out = colorize(G, gray)
    assert out.shape == gray.shape
    chroma = np.hypot(*rgb_to_lab(out)[..., 1:].transpose(2, 0, 1))
    assert chroma.mean() > 3.0
    # grays back to the input: Y kept, but where the scaled colour leaves the RGB gamut
    dY = lambda a: np.abs(luma(a).astype(int) - gray[..., 0])  # noqa: E731
    assert dY(out).mean() < 0.01 and (dY(out) > 2).mean() < 1e-3

    # the file's chroma gain (config "saturation") unless one is asked for, applied in the
    # same step that puts the luma back: Y kept, U and V scaled; 1 is the network's own colour
    plain = colorize(G, gray, saturation=1.0)
    if path.name == "pix2pix-mnv2.safetensors":  # its settings (tests/test_defaults.py too)
        assert G.settings == Settings(size=192, passes=1, saturation=1.25, v_exponent=1.0)
        assert np.array_equal(out, colorize(G, gray, size=192, passes=1, saturation=1.25))
    G.settings = replace(G.settings, saturation=1.3)
    more = colorize(G, gray)
    assert np.array_equal(more, colorize(G, gray, saturation=1.3))
    assert dY(more).mean() < 0.01 and (dY(more) > 2).mean() < 1e-3
    uv = lambda a: rgb_to_yuv(a)[..., 1:].astype(float) - 128  # noqa: E731
    mean = uv(plain).mean((0, 1))  # above 1 the spread about the mean colour grows
    assert (np.abs(uv(more) - (mean + 1.3 * (uv(plain) - mean))).mean() < 1.0
            < np.abs(uv(more) - uv(plain)).mean())
    assert np.abs(uv(colorize(G, gray, saturation=0.5)) - 0.5 * uv(plain)).mean() < 1.0
    # a v_exponent spends the gain on V: V's spread grows by 1.3 ** 2, U's by 1.3
    G.settings = replace(G.settings, v_exponent=2.0)
    vexp = uv(colorize(G, gray))
    assert np.abs(vexp - (mean + np.array([1.3, 1.69]) * (uv(plain) - mean))).mean() < 1.0
    assert np.abs(vexp[..., 1] - uv(more)[..., 1]).mean() > 0.5


@pytest.mark.skipif(not SHIPPED, reason="no weights/pix2pix-*.safetensors shipped yet")
def test_eval_only_scores_ours_against_gray(tiny: Path, tmp_path: Path) -> None:
    res = train.evaluate(SHIPPED[0], tiny, limit=3, size=64, grid=tmp_path / "grid.png")
    assert res["gray_colourfulness"] == pytest.approx(0, abs=1e-6)  # gray has no colour
    assert res["ours_colourfulness"] > 0 and res["truth_colourfulness"] > 0
    for who in ("gray", "ours"):
        assert 5 < res[f"{who}_psnr"] < 60 and 0 < res[f"{who}_ssim"] <= 1
        assert res[f"{who}_ciede2000"] > 0
    assert Image.open(tmp_path / "grid.png").size[1] == 3 * (160 + 4)  # a row per photo + gap
