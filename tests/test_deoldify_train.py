"""DeOldify NoGAN training (recolor.train.deoldify) on tiny data: each phase, resume, export."""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open
from torch.utils.data import DataLoader

from recolor.models.deoldify import Settings, build_generator, colorize, load_generator
from recolor.train import deoldify as train

ROOT = Path(__file__).resolve().parents[1]
VAL = ROOT.parent / "shared" / "data" / "val"
HAVE_WEIGHTS = all((train.SHARED_WEIGHTS / f).is_file() for f, _ in train.PRETRAINED.values())
NO_WEIGHTS = "../shared/weights (MobileNetV2 / VGG files) not present"


def photo(i: int) -> np.ndarray:
    """A real val photo if ../shared is there, else a smooth synthetic colour image."""
    files = sorted(VAL.glob("*.jpg")) if VAL.is_dir() else []
    if files:
        return np.asarray(Image.open(files[i * 37 % len(files)]).convert("RGB"))
    y, x = np.mgrid[0:96, 0:128].astype(np.float32)
    return np.stack([x * 2, y * 2.5, 255 - x - y + 20 * i], -1).clip(0, 255).astype(np.uint8)


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread: on a busy 2-core machine 2 threads are several times slower."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six small colour photos and a gray one (which the dataset skips)."""
    d = tmp_path_factory.mktemp("tiny")
    for i in range(6):
        Image.fromarray(photo(i)).resize((48, 40), Image.BICUBIC).save(d / f"p{i}.png")
    Image.fromarray(photo(0)).convert("L").resize((48, 40)).convert("RGB").save(d / "gray.png")
    return d


def args_for(tiny: Path, out: Path, *extra: str) -> argparse.Namespace:
    """32 px crops, batch 2 (3 steps an epoch), a 1-block critic; pretrained files if present,
    else random VGG and encoder."""
    p = argparse.ArgumentParser()
    train.add_arguments(p)
    shared = [] if HAVE_WEIGHTS else ["--vgg-weights", "random", "--encoder", "random"]
    return p.parse_args(["--data", str(tiny), "--val-data", str(tiny), "--val-limit", "4",
                         "--size", "32", "--batch", "2", "--crit-nf", "8", "--crit-blocks", "1",
                         "--gen-epochs", "1", "--crit-epochs", "1", "--threads", "1",
                         "--workers", "0", "--log-every", "1", "--out", str(out),
                         *shared, *extra])


def config_for(args: argparse.Namespace) -> dict:
    return {"arch": "slim", "loss": args.loss, "vgg": args.vgg, "encoder": args.encoder,
            "feat_weights": args.feat_weights, "crit_nf": 8, "crit_blocks": 1}


def snapshot(net: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def moved(before: dict[str, torch.Tensor], net: torch.nn.Module, prefix: str = "") -> bool:
    return any(not torch.equal(before[k], v) for k, v in net.state_dict().items()
               if k.startswith(prefix) and v.is_floating_point())


def test_pairs_are_gray_and_colour_in_imagenet_space(tiny: Path) -> None:
    ds = train.GrayColourPairs(tiny, 32)
    assert len(ds) == 6  # gray photo skipped
    x, y = ds[0]
    assert x.shape == y.shape == (3, 32, 32)
    gray, rgb = train.denormalize(x), train.denormalize(y)
    assert torch.allclose(gray[0], gray[1], atol=1e-5)
    assert torch.allclose(gray[0], gray[2], atol=1e-5)
    luma = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]
    assert torch.allclose(gray[0], luma, atol=1e-4)
    assert float(rgb.std(0).mean()) > 0.01  # colour target


def test_feature_loss_and_l1() -> None:
    torch.manual_seed(0)
    vgg = train.build_vgg("vgg16", "random")
    loss = train.FeatureLoss(vgg, train.VGG_TAPS["vgg16"])
    y = torch.randn(2, 3, 32, 32)
    pred = (y + 0.3 * torch.randn_like(y)).requires_grad_()
    total, parts = loss(pred, y)
    assert set(parts) == {"pixel", "feat_0", "feat_1", "feat_2"}
    assert math.isfinite(total.item()) and all(v > 0 for v in parts.values())
    total.backward()
    assert pred.grad is not None and all(p.grad is None for p in vgg.parameters())
    assert float(loss(y, y)[0]) == 0.0
    l1, parts = train.FeatureLoss()(pred.detach(), y)
    assert list(parts) == ["pixel"] and torch.isclose(l1, (pred.detach() - y).abs().mean())
    heavy, heavy_parts = train.FeatureLoss(vgg, train.VGG_TAPS["vgg16"], pixel_weight=3.0)(
        pred.detach(), y)  # the pixel term counts 3 times, the VGG terms as before
    assert heavy_parts == pytest.approx(loss(pred.detach(), y)[1])
    assert torch.isclose(heavy, loss(pred.detach(), y)[0] + 2 * l1)


def test_kept_luma_mse_is_the_error_the_evaluation_scores() -> None:
    """The --psnr-weight term: a luma-only change costs nothing, and on real uint8 pictures the
    term matches the MSE of `keep_luma(pred, truth)` (inference's post-processing) against the
    truth to within rounding; the term is added with its weight and logged."""
    from recolor.color import keep_luma
    rng = np.random.default_rng(0)
    truth = rng.integers(30, 220, (1, 24, 24, 3)).astype(np.uint8)
    pred = np.clip(truth.astype(int) + rng.integers(-25, 26, truth.shape), 0, 255).astype(np.uint8)
    t = train.normalize(torch.from_numpy(truth).permute(0, 3, 1, 2).float() / 255)
    p = train.normalize(torch.from_numpy(pred).permute(0, 3, 1, 2).float() / 255)
    got = float(train.kept_luma_mse(p, t))
    want = np.mean(((keep_luma(pred[0], truth[0]).astype(float) - truth[0]) / 255.0) ** 2)
    assert got == pytest.approx(want, rel=0.05) and got > 1e-4
    brighter = train.normalize(train.denormalize(t) + 0.05)  # luma + 0.05, same chroma
    assert float(train.kept_luma_mse(brighter, t)) < 1e-10 < float(train.kept_luma_mse(p, t))
    plain, _ = train.FeatureLoss()(p, t)
    total, parts = train.FeatureLoss(psnr_weight=100.0)(p, t)
    assert parts["psnr_mse"] == pytest.approx(got)
    assert float(total) == pytest.approx(float(plain) + 100 * got, rel=1e-5)


def test_critic_is_a_spectral_norm_patch_critic() -> None:
    D = train.build_critic(nf=8, n_blocks=1)
    assert D(torch.randn(2, 3, 32, 32)).shape == (2, 25)
    assert any(k.endswith("weight_orig") for k in D.state_dict())
    assert train.build_critic(nf=8, n_blocks=3)(torch.randn(1, 3, 64, 64)).shape == (1, 1)


def test_pretrained_files_checked_and_loaded(tmp_path: Path) -> None:
    fake = tmp_path / "vgg.pth"
    torch.save({"features.0.weight": torch.zeros(1)}, fake)
    with pytest.raises(ValueError, match="sha256"):
        train.load_pretrained("vgg16", fake)
    if not HAVE_WEIGHTS:
        pytest.skip(NO_WEIGHTS)
    G = build_generator("slim")
    train.init_encoder(G)
    sd = train.load_pretrained("mobilenet_v2")
    assert torch.equal(G.layers[0][0][0].weight, sd["features.0.0.weight"])
    for name in ("vgg16", "vgg19"):
        vgg = train.build_vgg(name)
        assert not any(p.requires_grad for p in vgg.parameters())
        assert vgg(torch.zeros(1, 3, 16, 16)).shape[1] == 256


def test_each_phase_steps_and_moves_the_right_weights(tiny: Path, tmp_path: Path) -> None:
    torch.manual_seed(0)
    args = args_for(tiny, tmp_path)
    tr = train.build(args, config_for(args), fresh=True)
    x, y = next(iter(DataLoader(train.GrayColourPairs(tiny, 32), batch_size=2)))

    tr.begin("gen", 3)
    tr.freeze_encoder(True)
    g0, d0 = snapshot(tr.G), snapshot(tr.D)
    out = tr.gen_step(x, y)
    assert all(math.isfinite(v) for v in out.values())
    assert moved(g0, tr.G, "layers.1.") and not moved(d0, tr.D)
    frozen = {k: v for k, v in tr.G.layers[0].named_parameters() if not v.requires_grad}
    assert frozen and all(torch.equal(g0["layers.0." + k], v) for k, v in frozen.items())
    assert any(not torch.equal(g0["layers.0." + k], v)  # BatchNorm still trains
               for k, v in tr.G.layers[0].named_parameters() if v.requires_grad)
    tr.freeze_encoder(False)
    tr.gen_step(x, y)
    assert moved(g0, tr.G, "layers.0.0.0.weight")

    tr.begin("crit", 3)
    g1, d1 = snapshot(tr.G), snapshot(tr.D)
    out = tr.crit_step(x, y)
    assert math.isfinite(out["loss_D"]) and 0 <= out["acc_D"] <= 1
    assert moved(d1, tr.D) and not moved(g1, tr.G)

    tr.begin("gan", 0)
    assert tr.gen_mode
    g2, d2 = snapshot(tr.G), snapshot(tr.D)
    out = tr.gan_step(x, y)  # generator's turn first
    assert math.isfinite(out["loss_G"]) and math.isfinite(out["loss_G_adv"])
    assert moved(g2, tr.G) and not moved(d2, tr.D) and not tr.gen_mode
    args.critic_thresh = 10.0  # any critic loss hands the turn back to the generator
    out = tr.gan_step(x, y)
    assert "loss_D" in out and moved(d2, tr.D) and tr.gen_mode


def test_cli_runs_all_phases_and_exports(tiny: Path, tmp_path: Path) -> None:
    out, weights = tmp_path / "run", tmp_path / "weights" / "deoldify-slim.safetensors"
    args = args_for(tiny, out, "--gan-fraction", "0.67", "--gan-ckpt-fraction", "0.34",
                    "--export", str(weights))
    assert train.main(args) == 0
    rows = (out / "losses.csv").read_text().splitlines()
    tags = {r.split(",")[1] for r in rows}
    assert {"gen_epoch001", "crit_epoch001", "gan_0001", "gan_0002"} <= tags
    assert all(math.isfinite(float(v)) for r in rows[1:] for v in r.split(",")[5:] if v)
    for f in ("samples/gen_epoch001.png", "samples/gan_0002.png", "G_gan_0001.pt", "ckpt.pt"):
        assert (out / f).is_file(), f
    assert torch.load(out / "ckpt.pt", weights_only=False)["progress"]["phase"] == 3

    with safe_open(str(weights), framework="pt") as f:
        meta = f.metadata()
        assert f.get_tensor("layers.0.0.0.weight").dtype == torch.float16
    assert meta["arch"] == "slim" and int(meta["render_factor"]) == 4
    manifest = json.loads((weights.parent / "manifest.json").read_text())
    assert manifest["deoldify-slim"]["arch"] == "slim"
    G = load_generator(weights)
    rgb = colorize(G, photo(1)[:37, :53], render_factor=int(meta["render_factor"]))
    assert rgb.shape == (37, 53, 3) and rgb.dtype == np.uint8

    # export a GAN snapshot on its own (the NoGAN "pick the best checkpoint" step)
    p = argparse.ArgumentParser()
    train.add_arguments(p)
    snap = tmp_path / "snap.safetensors"
    train.main(p.parse_args(["--export-only", str(out / "G_gan_0001.pt"), "--export", str(snap),
                             "--render-factor", "7"]))
    assert load_generator(snap, optimize=False).training is False
    assert load_generator(snap, optimize=False).settings.render_factor == 7


def test_resume_reaches_the_same_state(tiny: Path, tmp_path: Path) -> None:
    """Steps 1-4 (3 generator steps, then 1 critic step) in one go == 2 steps, resume, 2 more;
    with the l1 / random-encoder ablation flags."""
    flags = ("--loss", "l1", "--encoder", "random")
    train.main(args_for(tiny, tmp_path / "a", *flags, "--max-steps", "4"))
    train.main(args_for(tiny, tmp_path / "b", *flags, "--max-steps", "2"))
    mid = torch.load(tmp_path / "b" / "ckpt.pt", weights_only=False)
    assert mid["progress"]["step"] == 2 and mid["phase"] == "gen"
    train.main(args_for(tiny, tmp_path / "b", *flags, "--max-steps", "4", "--resume"))
    a = torch.load(tmp_path / "a" / "ckpt.pt", weights_only=False)
    b = torch.load(tmp_path / "b" / "ckpt.pt", weights_only=False)
    assert a["phase"] == b["phase"] == "crit"
    assert {k: v for k, v in a["progress"].items() if k != "seconds"} == \
        {k: v for k, v in b["progress"].items() if k != "seconds"}
    for net in ("G", "D"):
        for k, v in a[net].items():
            assert torch.equal(v, b[net][k]), (net, k)
    assert a["sched"]["last_epoch"] == b["sched"]["last_epoch"]


def test_resume_with_a_longer_gan_phase_reopens_it(tiny: Path, tmp_path: Path) -> None:
    """A finished run resumed with a larger --gan-fraction goes on with its GAN phase (same
    critic, generator and step count) instead of stopping or starting over."""
    flags = ("--loss", "l1", "--encoder", "random", "--gan-ckpt-fraction", "0.34")
    out = tmp_path / "run"
    train.main(args_for(tiny, out, *flags, "--gan-fraction", "0.67"))
    first = torch.load(out / "ckpt.pt", weights_only=False)
    assert first["progress"]["phase"] == 3 and first["progress"]["gan_images"] == 4
    train.main(args_for(tiny, out, *flags, "--gan-fraction", "0.67", "--resume"))  # no-op
    assert torch.load(out / "ckpt.pt", weights_only=False)["progress"]["step"] == \
        first["progress"]["step"]
    train.main(args_for(tiny, out, *flags, "--gan-fraction", "1.34", "--resume"))
    longer = torch.load(out / "ckpt.pt", weights_only=False)
    assert longer["progress"]["phase"] == 3 and longer["progress"]["gan_images"] == 8
    assert longer["progress"]["step"] == first["progress"]["step"] + 2  # 4 images, batch 2
    assert (out / "G_gan_0004.pt").is_file()
    assert any(not torch.equal(first["G"][k], v) for k, v in longer["G"].items()
               if v.is_floating_point())


def test_init_starts_a_new_size_from_an_earlier_generator(tiny: Path, tmp_path: Path) -> None:
    """--init (progressive resizing): a fresh run at another size whose generator starts as the
    given snapshot's, with its own config and a fresh phase 1."""
    flags = ("--loss", "l1", "--encoder", "random")
    train.main(args_for(tiny, tmp_path / "small", *flags, "--max-steps", "2"))
    small = torch.load(tmp_path / "small" / "ckpt.pt", weights_only=False)
    args = args_for(tiny, tmp_path / "big", *flags, "--size", "48", "--max-steps", "1",
                    "--init", str(tmp_path / "small" / "ckpt.pt"), "--lr", "0")
    train.main(args)
    big = torch.load(tmp_path / "big" / "ckpt.pt", weights_only=False)
    assert big["config"]["train_size"] == 48 and big["config"]["init"].endswith("ckpt.pt")
    assert big["progress"]["step"] == 1
    # lr 0 (weight decay scales with lr): the parameters are exactly the snapshot's (buffers,
    # BatchNorm statistics and spectral norm's power iteration, move in a train-mode forward)
    params = {k for k, _ in build_generator("slim").named_parameters()}
    assert params and params <= set(small["G"])
    for k in params:
        assert torch.equal(small["G"][k], big["G"][k]), k


SHIPPED = ROOT / "weights" / "deoldify-slim.safetensors"


def test_shipped_slim_weights_are_ours_and_colorize() -> None:
    """The app's default DeOldify weights: fp16, under 60 MB, our slim arch with the
    render_factor it was trained for; they colorize an example (non-zero chroma) and keep its
    luminance, through recolor.colorize as the app calls it."""
    from recolor import colorize as api_colorize
    from recolor.color import rgb_to_lab
    from recolor import learned

    assert SHIPPED.is_file() and SHIPPED.stat().st_size < 60e6
    with safe_open(str(SHIPPED), "pt") as f:
        meta = f.metadata()
        assert all(f.get_tensor(k).dtype in (torch.float16, torch.int64) for k in f.keys())
    assert meta["arch"] == "slim" and int(meta["render_factor"]) >= 4
    G = load_generator(SHIPPED)
    assert G.settings == Settings(render_factor=16, passes=4, saturation=1.5, v_exponent=1.6)
    if any((learned.WEIGHTS / f).is_file() for f in learned.DEOLDIFY_FILES[:2]):
        pytest.skip("an official checkpoint is installed and preferred")
    gray = np.asarray(Image.open(ROOT / "examples" / "03_landscape.jpg").convert("RGB"))
    out = api_colorize(gray, "deoldify")
    lab_in, lab_out = rgb_to_lab(gray), rgb_to_lab(out)
    assert np.hypot(lab_out[..., 1], lab_out[..., 2]).mean() > 3
    assert np.median(np.abs(lab_out[..., 0] - lab_in[..., 0])) < 1.5
    # the saturation option scales that chroma, applied when the input's luma is put back on
    # the prediction's resized colour: 1 is the network's own colour, the default the file's
    # gain 1.5 (V's gain: 1.5 to the file's v_exponent 1.6; tests/test_defaults.py pins them)
    from recolor.color import keep_luma
    raw = api_colorize(gray, "deoldify", saturation=1.0, post_process=False)
    assert np.array_equal(out, keep_luma(raw, gray, 1.5, 1.6))
    more = api_colorize(gray, "deoldify", saturation=1.4)
    assert np.array_equal(more, keep_luma(raw, gray, 1.4, 1.6))
    assert not np.array_equal(more, out)


def test_init_from_an_exported_safetensors_file(tiny: Path, tmp_path: Path) -> None:
    """--init also takes an exported fp16 file (the shipped weights): fine-tuning starts from
    exactly its parameters."""
    flags = ("--loss", "l1", "--encoder", "random")
    train.main(args_for(tiny, tmp_path / "a", *flags, "--max-steps", "2"))
    exported = train.export(tmp_path / "a" / "ckpt.pt", tmp_path / "w" / "g.safetensors")
    train.main(args_for(tiny, tmp_path / "b", *flags, "--max-steps", "1", "--lr", "0",
                        "--init", str(exported)))
    b = torch.load(tmp_path / "b" / "ckpt.pt", weights_only=False)
    a = torch.load(tmp_path / "a" / "ckpt.pt", weights_only=False)
    for k, _ in build_generator("slim").named_parameters():
        assert b["G"][k].dtype == torch.float32
        assert torch.equal(b["G"][k], a["G"][k].half().float()), k  # the file's fp16 values
