"""The networks' defaults a user sees are what runs: the shipped files' settings pinned, no
options equal the declared defaults, saturation a monotonic colour strength, captions that
say what ran, and a missing weight file falling back to the dataclass defaults."""
from __future__ import annotations

import numpy as np
import pytest

from recolor import METHODS, colorize, gallery, learned, registry
from recolor.color import rgb_to_lab
from recolor.models import deoldify as dd
from recolor.models import pix2pix as p2p

from .data.make_reference_outputs import example_input

SHIPPED = {"pix2pix": "pix2pix-mnv2.safetensors", "deoldify": "deoldify-slim.safetensors"}


def shipped(key: str) -> bool:
    path = learned.weight_file(key)
    return path is not None and path.name == SHIPPED[key]


def chroma(rgb: np.ndarray) -> float:
    return float(np.hypot(*rgb_to_lab(rgb)[..., 1:].transpose(2, 0, 1)).mean())


def test_the_shipped_files_defaults() -> None:
    """The literal settings of the shipped files, as the registry declares them."""
    if not (shipped("pix2pix") and shipped("deoldify")):
        pytest.skip("other weight files are installed and preferred")
    assert learned.settings("deoldify") == dd.Settings(render_factor=16, passes=4,
                                                       saturation=1.5, v_exponent=1.6)
    assert learned.settings("pix2pix") == p2p.Settings(size=192, passes=1, saturation=1.25,
                                                       v_exponent=1.0)
    assert METHODS["deoldify"].defaults() == {"render_factor": 16, "post_process": True,
                                              "passes": 4, "saturation": 1.5}
    assert METHODS["pix2pix"].defaults() == {"working_size": 192, "passes": 1,
                                             "saturation": 1.25}


@pytest.mark.parametrize("key", ["pix2pix", "deoldify"])
def test_no_options_equal_the_declared_defaults(key: str) -> None:
    rgb = example_input()
    declared = METHODS[key].defaults()
    out = colorize(rgb, key)
    assert np.array_equal(out, colorize(rgb, key, **declared))
    other = {**declared, "saturation": declared["saturation"] + 0.5}
    assert not np.array_equal(out, colorize(rgb, key, **other))  # the options do reach it


@pytest.mark.parametrize("key", ["pix2pix", "deoldify"])
def test_saturation_0_is_gray_and_colour_rises_with_it(key: str) -> None:
    rgb = example_input()
    outs = [colorize(rgb, key, saturation=s, passes=1) for s in (0.0, 0.5, 1.0, 1.5, 2.0, 3.0)]
    gray = outs[0].astype(int)
    assert np.abs(gray - gray[..., :1]).max() <= 1  # three equal channels (YUV rounding)
    c = [chroma(o) for o in outs]
    assert c[0] < 0.5 and all(a < b for a, b in zip(c, c[1:])), c


def test_captions_say_what_ran() -> None:
    dm, pm = METHODS["deoldify"], METHODS["pix2pix"]
    rf, n, sat = (dm.defaults()[k] for k in ("render_factor", "passes", "saturation"))
    assert gallery.caption("deoldify", {}, 1.1) == \
        f"DeOldify · rf {rf} · {n} passes · colour ×{sat:g} · 1.10 s"
    assert dm.describe({"render_factor": 12, "passes": 1, "saturation": 1.0}) == \
        "rf 12 · 1 pass · colour ×1"
    assert dm.describe({"post_process": False, "passes": 2}).endswith("raw output · 2 passes"
                                                                       f" · colour ×{sat:g}")
    assert pm.describe({"working_size": 256, "passes": 4, "saturation": 0.0}) == \
        "256 px · 4 passes · colour ×0"
    assert gallery.caption("pdf", {"iterations": 3}, 0.25) == "PDF transfer · 0.25 s"
    with pytest.raises(ValueError, match="passes"):
        dm.describe({"passes": 3})


def test_without_weights_the_dataclass_defaults_apply(tmp_path, monkeypatch) -> None:
    """No file, or an unreadable one: upstream's settings for DeOldify (render factor 35, one
    pass, gain 1), the class defaults for pix2pix; the options built from them are valid."""
    monkeypatch.setattr(learned, "WEIGHTS", tmp_path)
    assert learned.settings("deoldify") == dd.Settings(35, 1, 1.0, 1.0)
    assert learned.settings("pix2pix") == p2p.Settings(256, 1, 1.0, 1.0)
    (tmp_path / "deoldify-slim.safetensors").write_bytes(b"not a safetensors file")
    assert learned.settings("deoldify") == dd.Settings()
    opts = {o.name: o.default for o in registry._deoldify_options(dd.Settings())}
    assert opts == {"render_factor": 35, "post_process": True, "passes": 1, "saturation": 1.0}


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="render_factor"):
        dd.Settings(render_factor=0)
    with pytest.raises(ValueError, match="saturation"):
        p2p.Settings(saturation=-0.1)
    with pytest.raises(ValueError, match="passes"):
        p2p.Settings(passes=3)
    assert dd.Settings.from_metadata({"render_factor": "16", "passes": "4",
                                      "saturation": "1.5"}) == dd.Settings(16, 4, 1.5, 1.0)
