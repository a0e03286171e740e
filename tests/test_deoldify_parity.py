"""recolor.models.deoldify against the oracle: the PyPI package `deoldify` 0.0.1 (fastai v1).

The `oracle` tests need `pip install --no-deps deoldify==0.0.1` and
`pip install -r requirements-oracle.txt`; they fail (not skip) without them. The other tests here
need only the project.
"""
from __future__ import annotations

import copy
import functools
import logging
import os
import threading
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from recolor.color import rgb_to_yuv, yuv_to_rgb
from recolor.models import deoldify as D

SIZE = 80  # not a multiple of 32: exercises the nearest-neighbour resize in the decoder
TOL = 1e-4


def _oracle() -> SimpleNamespace:
    """Import fastai v1 / deoldify, undoing their import-time side effects (CUDA hidden,
    root logger at INFO, torch's DataLoader.__init__ replaced by one that refuses newer
    arguments such as `generator`, which would break every later test in the process)."""
    env, root = os.environ.get("CUDA_VISIBLE_DEVICES"), logging.getLogger()
    dataloader_init = torch.utils.data.DataLoader.__init__
    handlers, level = list(root.handlers), root.level
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from deoldify.unet import DynamicUnetDeep, DynamicUnetWide
        from fastai.layers import NormType
        from fastai.vision import models
        from fastai.vision.learner import create_body
    if env is None:
        os.environ.pop("CUDA_VISIBLE_DEVICES", None)
    else:
        os.environ["CUDA_VISIBLE_DEVICES"] = env
    root.handlers[:], root.level = handlers, level
    torch.utils.data.DataLoader.__init__ = dataloader_init
    return SimpleNamespace(Deep=DynamicUnetDeep, Wide=DynamicUnetWide, NormType=NormType,
                           models=models, create_body=create_body)


def _oracle_generator(arch: str) -> nn.Module:
    o = _oracle()
    kw = dict(n_classes=3, blur=True, blur_final=True, self_attention=True, y_range=(-3.0, 3.0),
              norm_type=o.NormType.Spectral, last_cross=True, bottle=False)
    with warnings.catch_warnings():  # torchvision's `pretrained=`, torch's old weight_norm
        warnings.simplefilter("ignore")
        if arch == "artistic":
            return o.Deep(o.create_body(o.models.resnet34, pretrained=False), nf_factor=1.5, **kw)
        return o.Wide(o.create_body(o.models.resnet101, pretrained=False), nf_factor=2, **kw)


def _make_realistic(model: nn.Module, seed: int = 0) -> nn.Module:
    """Random weights that behave like a trained net: non-zero attention gamma, perturbed BN
    affine, BN statistics and spectral-norm vectors from a few train-mode passes (a fresh net's
    unconverged power iteration makes activations explode), running variances kept >= 0.25."""
    torch.manual_seed(seed)
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("gamma"):
                p.uniform_(0.3, 0.7)
        for bn in bns:
            bn.reset_running_stats()
            bn.momentum = None  # cumulative average
            bn.weight.normal_(1.0, 0.1)
            bn.bias.normal_(0.0, 0.1)
        model.train()
        for _ in range(3):
            model(torch.randn(2, 3, 64, 64))
        for bn in bns:
            bn.momentum = 0.1
            bn.running_var.clamp_(min=0.25)
    return model.eval()


@pytest.fixture(scope="module", params=["artistic", "stable"])
def pair(request: pytest.FixtureRequest) -> tuple[str, nn.Module, nn.Module]:
    arch = request.param
    oracle = _make_realistic(_oracle_generator(arch))
    ours = D.build_generator(arch)
    ours.load_state_dict(oracle.state_dict(), strict=True)
    return arch, oracle, ours.eval()


@pytest.mark.oracle
def test_state_dict_keys_and_shapes_equal_upstream(pair) -> None:
    arch, oracle, _ = pair
    want = {k: tuple(v.shape) for k, v in oracle.state_dict().items()}
    for name in (arch, "video") if arch == "stable" else (arch,):
        got = {k: tuple(v.shape) for k, v in D.build_generator(name, "meta").state_dict().items()}
        assert got == want
    assert D.infer_arch(oracle.state_dict()) == arch


@pytest.mark.oracle
def test_eval_forward_matches_oracle(pair) -> None:
    _, oracle, ours = pair
    x = torch.randn(1, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        want = oracle(x)
        assert want.std() > 0.1  # a meaningful, non-saturated output
        assert (ours(x) - want).abs().max().item() < TOL
        folded = D.fold_spectral_norm(copy.deepcopy(ours))
        assert not any(k.endswith(("weight_orig", "weight_u", "weight_g"))
                       for k in folded.state_dict())
        assert (folded(x) - want).abs().max().item() < TOL
    for winograd in (True, False):  # fold + fuse BN + (Winograd NCHW | direct channels_last)
        fast = D.load_generator(oracle.state_dict(), winograd=winograd)
        wino = any(isinstance(m, D.WinogradConv2d) for m in fast.modules())
        assert wino == (winograd and D.nnpack_available())
        with torch.inference_mode():
            got = fast(x)
        assert (got - want).abs().max().item() < TOL


@pytest.mark.oracle
def test_train_step_matches_oracle(pair) -> None:
    """Train mode: batch-stat BN and one power iteration per call, buffers updated alike."""
    _, oracle, ours = pair
    ours = copy.deepcopy(ours)
    saved = {k: v.clone() for k, v in oracle.state_dict().items()}
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    try:
        with torch.no_grad():
            want, got = oracle.train()(x), ours.train()(x)
        assert (got - want).abs().max().item() < TOL
        o_sd, m_sd = oracle.state_dict(), ours.state_dict()
        assert not o_sd["layers.3.0.0.weight_u"].equal(saved["layers.3.0.0.weight_u"])
        for k, v in o_sd.items():  # power-iteration vectors, BN running statistics
            assert torch.allclose(m_sd[k].float(), v.float(), atol=TOL), k
    finally:
        oracle.load_state_dict(saved)
        oracle.eval()


# ----------------------------------------------------------------------------- no oracle needed

@pytest.fixture(scope="module")
def slim() -> nn.Module:
    torch.manual_seed(0)
    return D.load_generator(D.build_generator("slim").state_dict())


@pytest.mark.parametrize("shape", [(37, 53, 3), (50, 31)])
@pytest.mark.parametrize("post_process", [True, False])
def test_colorize_shape_dtype(slim, shape, post_process) -> None:
    rgb = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    out = D.colorize(slim, rgb, render_factor=3, post_process=post_process)
    assert out.shape == (shape[0], shape[1], 3) and out.dtype == np.uint8


class _Tint(nn.Module):
    """A stand-in generator: its gray input plus a mild warm tint, in normalised space."""

    def __init__(self) -> None:
        super().__init__()
        self.tint = nn.Parameter(torch.tensor([0.06, 0.0, -0.06]).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = torch.tensor(D.IMAGENET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(D.IMAGENET_STD).view(1, 3, 1, 1)
        return ((x * std + mean + self.tint).clamp(0, 1) - mean) / std


def test_colorize_post_process_keeps_luma() -> None:
    g = np.tile(np.linspace(30, 220, 45).astype(np.uint8), (29, 1))
    rgb = np.repeat(g[..., None], 3, axis=-1)
    out = D.colorize(_Tint(), rgb, render_factor=2, post_process=True)
    assert np.abs(rgb_to_yuv(out)[..., 0].astype(int) - g).max() <= 1  # the input's Y
    raw = D.colorize(_Tint(), rgb, render_factor=2, post_process=False)
    assert np.abs(rgb_to_yuv(raw)[..., 0].astype(int) - g).max() > 3  # blurred by the resize
    uv = lambda a: rgb_to_yuv(a)[..., 1:].astype(int)  # noqa: E731
    assert np.abs(uv(out) - uv(raw)).max() <= 2 and uv(out)[..., 1].mean() > 131  # warm chroma


@pytest.mark.oracle
@pytest.mark.parametrize("post_process", [True, False])
def test_colorize_matches_upstream_filter(post_process) -> None:
    """Upstream's ColorizerFilter (resize, gray, normalise, denormalise, unsquare, YUV merge)
    around the same stand-in generator gives the same uint8 image."""
    _oracle()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from deoldify.filters import ColorizerFilter
        from fastai.vision.data import imagenet_stats, normalize_funcs
        from fastai.vision.image import Image as FastaiImage
    from PIL import Image

    _, denorm = normalize_funcs(*imagenet_stats, do_x=True, do_y=True)

    class Learn:  # what Learner.pred_batch does for DeOldify's data (normalised with do_y)
        def __init__(self, model: nn.Module) -> None:
            self.model = model

        def pred_batch(self, ds_type, batch, reconstruct):
            with torch.no_grad():
                out = denorm(self.model.eval()(batch[0]), do_x=True)
            return [FastaiImage(o.float().clamp(min=0, max=1)) for o in out]

    rgb = np.random.default_rng(4).integers(0, 256, (45, 61, 3), dtype=np.uint8)
    pil = Image.fromarray(rgb)
    want = np.asarray(ColorizerFilter(Learn(_Tint())).filter(pil, pil, 3, post_process))
    got = D.colorize(_Tint(), rgb, render_factor=3, post_process=post_process)
    assert np.array_equal(got, want)


class _Ramp(_Tint):
    """A stand-in that is not mirror-symmetric: warm on the left, cool on the right."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ramp = torch.linspace(-1, 1, x.shape[-1]).view(1, 1, 1, -1)
        return super().forward(x) - 5 * ramp * self.tint  # tint (0.06, 0, -0.06) x 5


def test_pass_plan() -> None:
    from recolor.models.passes import pass_plan
    assert pass_plan(16, 1, 2) == [(16, False)]
    assert pass_plan(16, 2, 2) == [(16, False), (16, True)]
    assert pass_plan(16, 4, 2) == [(14, False), (14, True), (18, False), (18, True)]
    assert pass_plan(2, 4, 2)[0] == (1, False)  # never below render_factor 1
    assert pass_plan(192, 4, 32, smallest=32)[0] == (160, False)
    assert pass_plan(32, 4, 32, smallest=32)[0] == (32, False)
    with pytest.raises(ValueError, match="passes"):
        pass_plan(16, 3, 2)


def test_passes_average_the_mirror_image() -> None:
    """The mirrored pass is mirrored back before averaging: a left-right colour ramp of the
    stand-in cancels out, and a mirror-symmetric stand-in gives one pass's result."""
    g = np.tile(np.linspace(60, 200, 40).astype(np.uint8)[:, None], (1, 48))
    rgb = np.repeat(g[..., None], 3, axis=-1)
    v = lambda a: rgb_to_yuv(a)[..., 2].astype(float)  # noqa: E731 - V: red minus luma
    one, two = (D.colorize(_Ramp(), rgb, render_factor=3, passes=n) for n in (1, 2))
    left_right = lambda a: v(a)[:, :12].mean() - v(a)[:, -12:].mean()  # noqa: E731
    assert left_right(one) > 10 and abs(left_right(two)) < 1.5
    assert np.array_equal(D.colorize(_Tint(), rgb, render_factor=3, passes=2),
                          D.colorize(_Tint(), rgb, render_factor=3, passes=1))
    four = D.colorize(_Ramp(), rgb, render_factor=3, passes=4)  # render factors 1 and 5
    assert abs(left_right(four)) < 1.5 and np.abs(rgb_to_yuv(four)[..., 0].astype(int) - g).max() <= 1
    with pytest.raises(ValueError, match="passes"):
        D.colorize(_Tint(), rgb, render_factor=3, passes=3)


def test_colorize_rejects_bad_input(slim) -> None:
    with pytest.raises(ValueError):
        D.colorize(slim, np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ValueError):
        D.colorize(slim, np.zeros((4, 4, 3), np.uint8), render_factor=-1)


def test_settings_come_from_the_file(tmp_path) -> None:
    """A file's metadata states what it runs with (model.settings, colorize's defaults); an
    official checkpoint (no such metadata) gets upstream's: render_factor 35, one pass, gain 1.
    Bad values fail at load."""
    from safetensors.torch import save_file
    torch.manual_seed(0)
    sd = {k: v.contiguous() for k, v in D.build_generator("slim").state_dict().items()}
    save_file(sd, str(tmp_path / "ours.safetensors"), metadata={"arch": "slim",
                                                                "render_factor": "3",
                                                                "passes": "2"})
    save_file(sd, str(tmp_path / "official.safetensors"), metadata={"arch": "slim"})
    ours = D.load_generator(tmp_path / "ours.safetensors")
    assert ours.settings == D.Settings(render_factor=3, passes=2, saturation=1.0, v_exponent=1.0)
    assert D.settings_of(tmp_path / "ours.safetensors") == ours.settings  # header alone
    official = D.load_generator(tmp_path / "official.safetensors")
    assert official.settings == D.Settings(35, 1, 1.0, 1.0)
    rgb = np.random.default_rng(2).integers(0, 256, (30, 20, 3), dtype=np.uint8)
    assert np.array_equal(D.colorize(ours, rgb), D.colorize(ours, rgb, 3, passes=2))
    assert not np.array_equal(D.colorize(ours, rgb), D.colorize(ours, rgb, 2, passes=2))
    assert not np.array_equal(D.colorize(ours, rgb, 3), D.colorize(ours, rgb, 3, passes=1))
    save_file(sd, str(tmp_path / "bad.safetensors"), metadata={"arch": "slim", "passes": "3"})
    with pytest.raises(ValueError, match="passes"):
        D.load_generator(tmp_path / "bad.safetensors")


def test_colorize_thread_safe(slim) -> None:
    rgb = np.random.default_rng(1).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    want = D.colorize(slim, rgb, render_factor=3)
    results: list[np.ndarray] = []
    threads = [threading.Thread(target=lambda: results.append(D.colorize(slim, rgb, 3)))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and all(np.array_equal(r, want) for r in results)


def test_yuv_is_opencv_exact() -> None:
    cv2 = pytest.importorskip("cv2")
    a = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    assert np.array_equal(rgb_to_yuv(a), cv2.cvtColor(a, cv2.COLOR_RGB2YUV))
    assert np.array_equal(yuv_to_rgb(a), cv2.cvtColor(a, cv2.COLOR_YUV2RGB))


@pytest.mark.parametrize("learner", [True, False])
def test_import_weights_round_trip(tmp_path, learner) -> None:
    torch.manual_seed(3)
    model = _make_realistic(D.build_generator("slim"))
    sd = model.state_dict()
    if learner:  # what fastai v1's Learner.save writes, optimiser settings included
        opt = {"opt_state": {"state": {}, "param_groups": []}, "lr": [np.float64(1e-3)],
               "opt_func": functools.partial(torch.optim.Adam, betas=(0.0, 0.99))}
        obj: object = {"model": sd, "opt": opt}
    else:
        obj = sd
    src = tmp_path / "ColorizeSlim_gen.pth"
    torch.save(obj, src)
    out = D.import_weights(src, tmp_path / "weights")
    assert out == tmp_path / "weights" / "deoldify-slim.safetensors"
    entry = __import__("json").loads((out.parent / "manifest.json").read_text())[out.stem]
    assert entry["arch"] == "slim" and entry["file"] == out.name and len(entry["sha256"]) == 64
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        want = model(x)
    with torch.inference_mode():
        got = D.load_generator(out)(x)
    assert (got - want).abs().max().item() < TOL


def test_import_weights_refuses_code(tmp_path) -> None:
    src = tmp_path / "evil.pth"
    torch.save({"model": {}, "x": os.system}, src)
    with pytest.raises(ValueError):
        D.import_weights(src, tmp_path)


def test_build_unknown_arch() -> None:
    with pytest.raises(ValueError):
        D.build_generator("nope")


@pytest.mark.parametrize("shape", [(1, 5, 7, 9), (2, 3, 1, 4), (1, 8, 16, 16)])
def test_inference_blur_is_upstreams_pad_and_pool(shape) -> None:
    """The fast path's blur, computed in place by shifted sums, gives the same numbers as
    replication pad + 2x2 average pool (what training and upstream run), odd sizes included;
    so do a pixel shuffle and a res block after ``in_place_ops``."""
    from recolor.models.deoldify_fast import InPlaceBlur, InPlaceResBlock, _blur_, in_place_ops
    x = torch.rand(*shape)
    want = nn.AvgPool2d(2, stride=1)(nn.ReplicationPad2d((1, 0, 1, 0))(x))
    got = _blur_(x.clone())
    assert got.shape == x.shape and (got - want).abs().max().item() < 1e-6
    torch.manual_seed(0)
    net = nn.Sequential(D.PixelShuffleICNR(4, 3, bn=False), D.ResBlock(3)).eval()
    fast_net = in_place_ops(copy.deepcopy(net))
    y = torch.rand(1, 4, 5, 6)
    slow = net(y)  # grad mode: the training modules
    assert isinstance(fast_net[0].blur, InPlaceBlur) and isinstance(fast_net[1], InPlaceResBlock)
    with torch.no_grad():
        fast = fast_net(y)
    assert slow.requires_grad and (fast - slow).abs().max() < 1e-6 * slow.abs().max()  # rounding
