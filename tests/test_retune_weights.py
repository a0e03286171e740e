"""scripts/retune_weights.py: the tool that wrote the shipped files' inference settings and blends."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from recolor.weightfiles import read_safetensors as read
from recolor.models.deoldify import Settings, build_generator, load_generator

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "retune_weights.py"


def retune(*args: str | Path) -> None:
    subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], check=True, cwd=ROOT,
                   env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
                   capture_output=True)  # as a user runs it, without PYTHONPATH


def test_blend_and_infer_size(tmp_path: Path) -> None:
    meta = {"config": json.dumps({"arch": "mobilenet", "infer_size": 192}), "source": "a.pt"}
    a = {"w": torch.zeros(3, 4, dtype=torch.float16), "n": torch.tensor([1, 2])}
    b = {"w": torch.full((3, 4), 2.0, dtype=torch.float16), "n": torch.tensor([3, 4])}
    save_file(a, str(tmp_path / "a.safetensors"), metadata=meta)
    save_file(b, str(tmp_path / "b.safetensors"), metadata={})
    retune(tmp_path / "a.safetensors", tmp_path / "out.safetensors", "--infer-size", 160,
           "--blend", tmp_path / "b.safetensors", 0.25, "--saturation", 1.3)
    sd, out_meta = read(tmp_path / "out.safetensors")
    assert sd["w"].dtype == torch.float16
    assert torch.allclose(sd["w"].float(), torch.full((3, 4), 0.5))
    assert sd["n"].tolist() == [3, 4]  # integer tensors are taken from B, not interpolated
    assert json.loads(out_meta["config"]) == {"arch": "mobilenet", "infer_size": 160,
                                              "saturation": 1.3}
    assert "blend(a.pt" in out_meta["source"]
    with pytest.raises(subprocess.CalledProcessError):  # 1, 2 or 4
        retune(tmp_path / "a.safetensors", tmp_path / "bad.safetensors", "--passes", 3)
    retune(tmp_path / "a.safetensors", tmp_path / "two.safetensors", "--passes", 2,
           "--v-exponent", 1.6)
    config = json.loads(read(tmp_path / "two.safetensors")[1]["config"])
    assert config["passes"] == 2 and config["v_exponent"] == 1.6
    with pytest.raises(subprocess.CalledProcessError):  # an exponent must be > 0
        retune(tmp_path / "a.safetensors", tmp_path / "bad.safetensors", "--v-exponent", 0)


def test_deoldify_render_factor_and_manifest(tmp_path: Path) -> None:
    torch.manual_seed(0)
    sd = {k: v.half() if v.is_floating_point() else v
          for k, v in build_generator("slim").state_dict().items()}
    src = tmp_path / "src.safetensors"
    save_file(sd, str(src), metadata={"arch": "slim", "format": "deoldify", "render_factor": "16",
                                      "config": json.dumps({"arch": "slim", "render_factor": 16})})
    out = tmp_path / "weights" / "deoldify-slim.safetensors"
    out.parent.mkdir()
    retune(src, out, "--render-factor", 10, "--source", "run/G_gan_0002.pt", "--saturation", 1.6,
           "--passes", 4, "--v-exponent", 1.5)
    model = load_generator(out, optimize=False)
    assert model.settings == Settings(render_factor=10, passes=4, saturation=1.6, v_exponent=1.5)
    assert load_generator(src, optimize=False).settings.v_exponent == 1.0
    new, meta = read(out)
    assert all(torch.equal(new[k], v) for k, v in sd.items())  # weights untouched
    assert json.loads(meta["config"])["render_factor"] == 10
    entry = json.loads((out.parent / "manifest.json").read_text())["deoldify-slim"]
    assert entry["render_factor"] == 10 and entry["source"] == "run/G_gan_0002.pt"
    assert entry["bytes"] == out.stat().st_size and not entry["official"]


def test_blend_keeps_spectral_norm_layers(tmp_path: Path) -> None:
    """Flipping both power-iteration vectors of every spectral-norm layer gives the same network;
    blending a file with that twin must give it again (a plain lerp of u, v gives u = v = 0,
    sigma 0, and a broken network), and a blend of two different files must equal the lerp of
    their effective weights, re-normalised."""
    torch.manual_seed(0)
    model = build_generator("slim").eval()
    sd = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    layers = [k[:-len("orig")] for k in sd if k.endswith("weight_orig")]
    assert layers, "the slim generator has spectral-norm layers"
    for p in layers:  # converged vectors, as after training (a fresh model's are random)
        w = sd[p + "orig"].float()
        u, _, vh = torch.linalg.svd(w.reshape(w.shape[0], -1), full_matrices=False)
        sd[p + "u"], sd[p + "v"] = u[:, 0].half(), vh[0].half()
    twin = dict(sd)
    for p in layers:
        twin[p + "u"], twin[p + "v"] = -sd[p + "u"], -sd[p + "v"]
    meta = {"arch": "slim", "format": "deoldify", "render_factor": "4",
            "config": json.dumps({"arch": "slim", "render_factor": 4})}
    save_file(sd, str(tmp_path / "a.safetensors"), metadata=meta)
    save_file(twin, str(tmp_path / "b.safetensors"), metadata=meta)
    retune(tmp_path / "a.safetensors", tmp_path / "ab.safetensors",
           "--blend", tmp_path / "b.safetensors", 0.5)
    x = torch.randn(1, 3, 64, 64)
    with torch.inference_mode():
        ref = load_generator(tmp_path / "a.safetensors", optimize=False)(x)
        got = load_generator(tmp_path / "ab.safetensors", optimize=False)(x)
    assert torch.isfinite(got).all()
    assert (got - ref).abs().max() < 2e-2  # fp16 storage

    from recolor.train.blend import blend
    other = {k: v * 1.3 if k.endswith("weight_orig") else v for k, v in sd.items()}
    mixed = blend(sd, other, 0.25)
    for p in layers[:3]:
        def eff(d):
            w = d[p + "orig"].float()
            return w / torch.dot(d[p + "u"].float(), w.reshape(w.shape[0], -1) @ d[p + "v"].float())
        want = torch.lerp(eff(sd), eff(other), 0.25)
        want = want / torch.linalg.matrix_norm(want.reshape(want.shape[0], -1), 2)
        assert torch.allclose(eff(mixed), want, atol=2e-2)
