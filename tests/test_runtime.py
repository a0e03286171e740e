"""recolor.runtime: the networks exported to OpenVINO / ONNX Runtime against torch.

Tolerances, on the networks' own output scales (DeOldify: [-3, 3]; pix2pix: ab / 110 in
[-1, 1]): f32 runtimes within 1e-3 of torch (measured: under 1e-5; float rounding in another
order of operations); OpenVINO's default bf16 (the stem in f32) within an RMS of 0.01 and a
tenth of the output's spread (measured: 0.003), and a PSNR of 40 dB on the whole colorized
picture (measured: 47-49 dB). Every test exports into its own cache directory (``RECOLOR_CACHE``).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from recolor import learned, runtime
from recolor.metrics import psnr
from recolor.weightfiles import sha256_of
from recolor.models import deoldify as D
from recolor.models import pix2pix as P

ROOT = Path(__file__).resolve().parents[1]
SLIM = ROOT / "weights" / "deoldify-slim.safetensors"
MNV2 = ROOT / "weights" / "pix2pix-mnv2.safetensors"
F32_TOL = 1e-3


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    """One cache for the module: each network is exported once per runtime."""
    return tmp_path_factory.mktemp("recolor-cache")


@pytest.fixture(autouse=True)
def _env(cache, monkeypatch) -> None:
    monkeypatch.setenv("RECOLOR_CACHE", str(cache))
    monkeypatch.delenv("RECOLOR_RUNTIME", raising=False)
    monkeypatch.delenv("RECOLOR_PRECISION", raising=False)


def _gray_input(side: int, channels: int) -> torch.Tensor:
    """A real photo's gray, as each network takes it (DeOldify: ImageNet-normalised gray RGB;
    pix2pix: L in [-1, 1], here luma scaled alike)."""
    from PIL import Image
    g = np.asarray(Image.open(ROOT / "examples" / "01_people.jpg").convert("L")
                   .resize((side + 8, side), Image.BILINEAR), np.float32) / 255.0
    x = torch.from_numpy(g)[None, None]
    if channels == 1:
        return x * 2 - 1
    mean = torch.tensor(D.IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(D.IMAGENET_STD).view(1, 3, 1, 1)
    return (x.expand(1, 3, -1, -1) - mean) / std


def _load(name: str):
    return D.load_generator(SLIM) if name == "deoldify" else P.load_generator(str(MNV2))


NETS = {"deoldify": (SLIM, 3), "pix2pix": (MNV2, 1)}


class Tiny(torch.nn.Module):
    """A small encoder-decoder for the cache and fallback tests (exports in a second)."""

    def __init__(self) -> None:
        super().__init__()
        self.down = torch.nn.Conv2d(1, 8, 3, stride=2, padding=1)
        self.up = torch.nn.Conv2d(9, 2, 3, padding=1)
        self.config = {"infer_size": 64}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.down(x))
        h = torch.nn.functional.interpolate(h, size=x.shape[-2:], mode="bilinear")
        return torch.tanh(self.up(torch.cat([h, x], 1)))


def tiny(path: Path, seed: int = 0) -> Tiny:
    """A Tiny with seeded weights, saved to ``path`` (the export's source of truth)."""
    from safetensors.torch import save_file
    torch.manual_seed(seed)
    model = Tiny().eval()
    if not path.is_file():
        save_file(model.state_dict(), str(path))
    return model


@pytest.mark.parametrize("net,runtime_name,precision",
                         [("deoldify", "openvino", "f32"), ("deoldify", "openvino", None),
                          ("deoldify", "onnxruntime", None), ("pix2pix", "openvino", "f32"),
                          ("pix2pix", "openvino", None)])
def test_exported_network_matches_torch_at_two_sizes(net, runtime_name, precision) -> None:
    """One export (dynamic axes) runs two input sizes, neither the traced one, and gives
    torch's output: f32 runtimes to float rounding, bf16 to a small RMS error."""
    path, channels = NETS[net]
    model = _load(net)
    fast = runtime.accelerate(model, path, channels, runtime_name, precision=precision)
    assert isinstance(fast, runtime.Compiled) and fast.runtime == runtime_name
    for side in (96, 150):  # (side, side + 8): not square, not the traced 66 x 66
        x = _gray_input(side, channels)
        with torch.inference_mode():
            want = model(x)
            got = fast(x)
        assert got.shape == want.shape and got.dtype == torch.float32
        err = (got - want).abs()
        rms = err.pow(2).mean().sqrt().item()
        if precision == "f32" or runtime_name == "onnxruntime":
            assert err.max().item() < F32_TOL, (net, side, err.max().item())
        else:  # bf16: measured RMS 0.003 for both, max 0.014 (DeOldify), 0.04 (pix2pix)
            assert rms < 0.01 and rms < 0.1 * want.std().item(), (net, side, rms)
        assert want.std().item() > 0.03


@pytest.mark.parametrize("net", list(NETS))
def test_colorize_default_runtime_keeps_the_picture(net, monkeypatch) -> None:
    """The shipped defaults through `recolor.colorize` on a 512x512 gray photo: the default
    runtime (OpenVINO) and RECOLOR_RUNTIME=torch give the same picture to >= 40 dB."""
    from recolor import colorize
    from recolor.color import gray_to_rgb, luma
    from recolor.images import load_image
    from PIL import Image
    rgb = load_image(ROOT / "examples" / "01_people.jpg", "photo")
    gray = gray_to_rgb(np.asarray(Image.fromarray(luma(rgb)).resize((512, 512))))
    outs = {}
    for name in ("torch", "openvino"):
        monkeypatch.setenv("RECOLOR_RUNTIME", name)
        monkeypatch.setattr(learned, "_models", {})
        outs[name] = colorize(gray, net)
        assert getattr(learned._models[net], "runtime", "torch") == name
    assert psnr(outs["openvino"], outs["torch"]) >= 40.0
    assert np.abs(outs["openvino"].astype(int) - gray).max() > 10  # it did colour the photo


def test_second_load_reuses_the_cache(cache, tmp_path, monkeypatch) -> None:
    w = tmp_path / "tiny.safetensors"
    first = runtime.accelerate(tiny(w), w, 1, "openvino")
    stamp = first.path.stat().st_mtime_ns
    assert first.path.parent == cache and first.path.with_suffix(".bin").is_file()
    assert first.path.name.startswith("tiny-" + sha256_of(w)[:16])

    def no_export(*args, **kwargs):
        raise AssertionError("exported again")
    monkeypatch.setattr(runtime.OpenVINO, "export", staticmethod(no_export))
    again = runtime.accelerate(tiny(w), w, 1, "openvino")
    assert isinstance(again, runtime.Compiled)
    assert again.path == first.path and again.path.stat().st_mtime_ns == stamp
    x = torch.rand(1, 1, 40, 56) * 2 - 1
    with torch.inference_mode():
        want = tiny(w)(x)
    assert torch.equal(first(x), again(x)) and (again(x) - want).abs().max().item() < 0.02


def test_other_weights_get_their_own_export(tmp_path) -> None:
    """The cache is keyed by the weights' sha256: a retrained file is exported anew."""
    a_w, b_w = tmp_path / "a" / "tiny.safetensors", tmp_path / "b" / "tiny.safetensors"
    a_w.parent.mkdir(), b_w.parent.mkdir()
    a = runtime.accelerate(tiny(a_w, seed=0), a_w, 1, "openvino", precision="f32")
    b = runtime.accelerate(tiny(b_w, seed=1), b_w, 1, "openvino", precision="f32")
    assert a.path != b.path and b.path.is_file()
    x = torch.rand(1, 1, 32, 32)
    with torch.inference_mode():
        assert (b(x) - tiny(b_w, seed=1)(x)).abs().max().item() < F32_TOL
    assert (a(x) - b(x)).abs().max().item() > 0.01


def test_missing_package_falls_back_to_torch(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "openvino", None)  # `import openvino` raises ImportError
    w = tmp_path / "tiny.safetensors"
    model = tiny(w)
    assert runtime.accelerate(model, w, 1) is model
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "openvino is not installed" in err[0] and "PyTorch" in err[0]


def test_missing_package_through_the_app_path(monkeypatch, capsys) -> None:
    """`recolor.colorize` still works, in torch, when the runtime's package is missing."""
    from recolor import colorize
    monkeypatch.setitem(sys.modules, "openvino", None)
    monkeypatch.setattr(learned, "_models", {})
    out = colorize(np.full((40, 40), 128, np.uint8), "pix2pix")
    assert out.shape == (40, 40, 3) and not isinstance(learned._models["pix2pix"],
                                                       runtime.Compiled)
    assert "not installed" in capsys.readouterr().err


def test_failed_export_falls_back_with_a_notice(tmp_path, monkeypatch, capsys) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("unsupported op")
    monkeypatch.setattr(runtime.OpenVINO, "export", staticmethod(broken))
    monkeypatch.setenv("RECOLOR_CACHE", str(tmp_path))  # a cold cache
    w = tmp_path / "tiny.safetensors"
    model = tiny(w)
    assert runtime.accelerate(model, w, 1) is model
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot run tiny.safetensors in openvino" in err[0]
    assert "unsupported op" in err[0] and not list(tmp_path.glob("*.xml"))


def test_runtime_choice(tmp_path, monkeypatch) -> None:
    w = tmp_path / "tiny.safetensors"
    model = tiny(w)
    monkeypatch.setenv("RECOLOR_RUNTIME", "torch")
    assert runtime.requested() == "torch" and runtime.accelerate(model, w, 1) is model
    monkeypatch.setenv("RECOLOR_RUNTIME", "OpenVINO ")
    assert runtime.requested() == "openvino"
    monkeypatch.setenv("RECOLOR_RUNTIME", "tensorrt")
    with pytest.raises(ValueError, match="choose one of openvino, onnxruntime, torch"):
        runtime.requested()
    monkeypatch.delenv("RECOLOR_RUNTIME")
    assert runtime.requested() == runtime.DEFAULT == "openvino"


def test_bad_runtime_name_is_a_clear_model_error(monkeypatch) -> None:
    from recolor import ModelUnavailable, colorize
    monkeypatch.setenv("RECOLOR_RUNTIME", "tensorrt")
    monkeypatch.setattr(learned, "_models", {})
    with pytest.raises(ModelUnavailable, match="RECOLOR_RUNTIME='tensorrt'"):
        colorize(np.zeros((16, 16), np.uint8), "pix2pix")


def test_a_model_off_the_cpu_stays_in_torch() -> None:
    model = D.build_generator("slim", device="meta")  # stands in for a CUDA model
    assert runtime.accelerate(model, SLIM, 3, "openvino") is model


def test_compiled_keeps_the_attributes_and_the_call(cache) -> None:
    model = D.load_generator(SLIM)
    fast = runtime.accelerate(model, SLIM, 3, "openvino")
    assert fast.settings == model.settings  # render factor, passes, saturation, v_exponent
    assert (fast.settings.render_factor, fast.settings.passes) == (16, 4)
    p = next(fast.parameters())
    assert p.device.type == "cpu" and p.dtype == torch.float32 and p.numel() == 0
    assert "runtime=openvino" in repr(fast)


def test_threads_share_one_compiled_model(tmp_path) -> None:
    import threading
    w = tmp_path / "tiny.safetensors"
    fast = runtime.accelerate(tiny(w), w, 1, "openvino")
    xs = [torch.rand(1, 1, 32 + 8 * i, 40) for i in range(4)]
    want = [fast(x) for x in xs]
    got: dict[int, torch.Tensor] = {}
    threads = [threading.Thread(target=lambda i=i: got.__setitem__(i, fast(xs[i])))
               for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(torch.equal(got[i], want[i]) for i in range(4))


def test_a_repeated_shape_gets_its_own_static_model(tmp_path, monkeypatch) -> None:
    """The first call of a shape runs the dynamic model, the second compiles one for that
    shape, with the same output; past MAX_STATIC shapes the dynamic model serves the rest."""
    monkeypatch.setattr(runtime.Shapes, "MAX_STATIC", 2)
    w = tmp_path / "tiny.safetensors"
    fast = runtime.accelerate(tiny(w), w, 1, "openvino")
    shapes = fast.runner
    x = torch.rand(1, 1, 48, 64)
    first = fast(x)
    assert shapes.static == {}
    second = fast(x)
    assert list(shapes.static) == [(1, 1, 48, 64)]
    assert torch.allclose(first, second, atol=1e-2)
    assert (first - second).abs().mean() < 1e-3
    for side in (40, 56, 72):
        fast(torch.rand(1, 1, side, side)), fast(torch.rand(1, 1, side, side))
    assert list(shapes.static) == [(1, 1, 48, 64), (1, 1, 40, 40)]
    assert fast(torch.rand(1, 1, 72, 72)).shape == (1, 2, 72, 72)  # the dynamic model


def _calibrate_tiny(model) -> None:
    for side in (40, 48):
        model(torch.rand(1, 1, side, side, generator=torch.Generator().manual_seed(side)))


def test_int8_is_made_once_from_recorded_inputs_and_stays_close(cache) -> None:
    """RECOLOR_PRECISION=int8: an int8 IR calibrated on what ``calibrate`` feeds the network,
    cached beside the export (a second load makes nothing), its picture near torch's
    (measured: 41-47 dB on the examples at 512²; the bound here: 35 dB)."""
    model = P.load_generator(str(MNV2))
    photo = (_gray_input(256, 1)[0, 0].numpy() * 127.5 + 127.5).astype(np.uint8)
    calibrate = lambda m: P.colorize(m, photo)  # noqa: E731
    fast = runtime.accelerate(model, MNV2, 1, "openvino", precision="int8", calibrate=calibrate)
    assert "-int8-" in fast.path.name and fast.path.is_file()
    assert "FakeQuantize" in fast.path.read_text()  # int8 convolutions
    stamp = fast.path.stat().st_mtime_ns
    again = runtime.accelerate(model, MNV2, 1, "openvino", precision="int8",
                               calibrate=lambda m: pytest.fail("calibrated twice"))
    assert again.path == fast.path and fast.path.stat().st_mtime_ns == stamp
    want, got = P.colorize(model, photo), P.colorize(fast, photo)
    assert 35 < psnr(got, want) < 80  # close, and not the f32 network


def test_recorded_inputs_are_what_colorize_feeds() -> None:
    from recolor import quantize
    model = P.load_generator(str(MNV2))
    seen = quantize.recorded_inputs(model, lambda m: P.colorize(m, np.zeros((100, 150), np.uint8)))
    assert [x.shape for x in seen] == [(1, 1, 192, 288)]  # the working size, one pass


def test_int8_without_nncf_or_photos_keeps_the_default_with_a_notice(tmp_path, monkeypatch,
                                                                    capsys) -> None:
    from importlib import metadata
    w = tmp_path / "tiny.safetensors"
    fast = runtime.accelerate(tiny(w), w, 1, "openvino", precision="int8", calibrate=None)
    assert "-int8-" not in fast.path.name and "no calibration photos" in capsys.readouterr().err
    real = metadata.version
    monkeypatch.setattr(metadata, "version", lambda name: (_ for _ in ()).throw(
        metadata.PackageNotFoundError(name)) if name == "nncf" else real(name))
    fast = runtime.accelerate(tiny(w), w, 1, "openvino", precision="int8",
                              calibrate=_calibrate_tiny)
    assert "-int8-" not in fast.path.name and "pip install nncf" in capsys.readouterr().err
    with pytest.raises(ValueError, match="RECOLOR_PRECISION"):
        runtime.accelerate(tiny(w), w, 1, "openvino", precision="int4")


def test_stem_is_kept_in_f32() -> None:
    """The exported IR marks the encoder's stem (the ops before a quarter of the input's
    resolution) to keep f32 under bf16 inference, and nothing deeper."""
    fast = runtime.accelerate(D.load_generator(SLIM), SLIM, 3, "openvino")
    xml = fast.path.read_text()
    marked = xml.count('<attribute name="precise" version="0"')
    assert 5 <= marked <= 40, marked
    assert xml.count('type="Convolution"') > 3 * marked  # the rest runs in bf16


# ----------------------------------------------------------------------------- official bodies

@pytest.mark.oracle
@pytest.mark.parametrize("arch", ["artistic", "stable"])
def test_official_checkpoints_export(arch, tmp_path) -> None:
    """ResNet34 (artistic) and ResNet101 (stable) generators with the oracle's random weights,
    imported as an official checkpoint is, export to OpenVINO and match the oracle at two
    sizes (80: the decoder resizes at its deepest level; 112 x 120)."""
    from tests.test_deoldify_parity import _make_realistic, _oracle_generator
    oracle = _make_realistic(_oracle_generator(arch))
    src = tmp_path / f"Colorize{arch.title()}_gen.pth"
    torch.save({"model": oracle.state_dict(), "opt": {}}, src)
    path = D.import_weights(src, tmp_path / "weights")
    model = D.load_generator(path)
    fast = runtime.accelerate(model, path, 3, "openvino", precision="f32")
    bf16 = runtime.accelerate(model, path, 3, "openvino")  # the same export, compiled again
    assert isinstance(fast, runtime.Compiled) and bf16.path == fast.path
    for shape in ((80, 80), (112, 120)):
        x = torch.randn(1, 3, *shape, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            want = oracle(x)
        got = fast(x)
        assert want.std() > 0.1 and (got - want).abs().max().item() < F32_TOL
        rms = (bf16(x) - want).pow(2).mean().sqrt().item()  # measured 0.004-0.007
        assert rms < 0.05 * want.std().item()  # the output's spread: 0.28 (34), 0.49 (101)
