import importlib
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from recolor import METHODS, colorize
from recolor.cli import add_plugins, main
from recolor.color import rgb_to_lab

from .badfiles import REFUSED, write_bad_files

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_batch_skips_bad_files_and_finishes_the_rest(tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    write_bad_files(folder)
    good = folder / "good.jpg"
    Image.open(EXAMPLES / "03_landscape.jpg").save(good)
    rc = main(["colorize", str(folder), "--method", "lab_mean,mean_std",
               "--reference", str(EXAMPLES / "03_landscape_ref.jpg"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 0
    for name, word in REFUSED.items():
        line = next(x for x in err.splitlines() if name in x)
        assert word in line and line.startswith("error:")
    ref = np.asarray(Image.open(EXAMPLES / "03_landscape_ref.jpg").convert("RGB"))
    photo = np.asarray(Image.open(good).convert("RGB"))
    for key in ("lab_mean", "mean_std"):  # what the API gives for the same photo and reference
        out = np.asarray(Image.open(tmp_path / "o" / f"good_{key}.png"))
        assert np.array_equal(out, colorize(photo, key, reference=ref))


def test_exit_code_is_nonzero_only_when_every_file_failed(tmp_path, capsys):
    bad = write_bad_files(tmp_path)
    rc = main(["colorize", str(bad["text.jpg"]), str(bad["empty.jpg"]), "--method", "lab_mean",
               "--reference", str(EXAMPLES / "01_people_ref.jpg"), "--out", str(tmp_path / "o")])
    assert rc == 1


def test_options_reach_the_method(tmp_path):
    ref = str(EXAMPLES / "02_animal_ref.jpg")
    args = ["colorize", str(EXAMPLES / "02_animal.jpg"), "--method", "pdf", "--reference", ref]
    assert main(args + ["--out", str(tmp_path / "a"), "--iterations", "3", "--no-regrain"]) == 0
    assert main(args + ["--out", str(tmp_path / "b")]) == 0
    a = np.asarray(Image.open(tmp_path / "a" / "02_animal_pdf.png"))
    b = np.asarray(Image.open(tmp_path / "b" / "02_animal_pdf.png"))
    assert a.shape == b.shape and not np.array_equal(a, b)


def test_all_without_reference_picks_one_automatically(tmp_path, capsys):
    """Every method writes its image: the transfers with a reference picked from the bank,
    the networks with their defaults, each what the API gives, coloured, with the photo's
    lightness."""
    photo = EXAMPLES / "04_street.jpg"
    rc = main(["colorize", str(photo), "--out", str(tmp_path)])
    assert rc == 0
    assert sorted(p.name for p in tmp_path.glob("*.png")) == \
        sorted(f"04_street_{key}.png" for key in METHODS)
    rgb = np.asarray(Image.open(photo).convert("RGB"))
    L = rgb_to_lab(rgb)[..., 0]
    for key in METHODS:
        out = np.asarray(Image.open(tmp_path / f"04_street_{key}.png"))
        assert out.shape == rgb.shape, key
        lab = rgb_to_lab(out)
        assert np.hypot(lab[..., 1], lab[..., 2]).mean() > 3, key  # coloured: the input is gray
        assert np.median(np.abs(lab[..., 0] - L)) < 1.5, key  # its lightness kept
    for key in ("pix2pix", "deoldify"):  # no options: the declared defaults
        out = np.asarray(Image.open(tmp_path / f"04_street_{key}.png"))
        assert np.array_equal(out, colorize(rgb, key)), key


def test_help_shows_each_methods_default(capsys):
    with pytest.raises(SystemExit):
        main(["colorize", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for key in ("pix2pix", "deoldify"):
        m = METHODS[key]
        assert f"{m.name} {m.defaults()['saturation']}" in out
        assert f"{m.name} {m.defaults()['passes']}" in out
    assert f"DeOldify {METHODS['deoldify'].defaults()['render_factor']}" in out


def test_a_subcommands_import_error_is_raised(tmp_path, monkeypatch):
    """A plugin whose module fails to import is a bug to see, not a command left out."""
    (tmp_path / "broken_plugin_for_test.py").write_text("import no_such_module_anywhere\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import argparse
    sub = argparse.ArgumentParser().add_subparsers()
    with pytest.raises(ModuleNotFoundError, match="no_such_module_anywhere"):
        add_plugins(sub, {"broken": ("broken_plugin_for_test", "a broken command")})
    sys.modules.pop("broken_plugin_for_test", None)


def test_console_script_is_the_cli_main():
    """pyproject's `recolor` command resolves to the same function as `python -m recolor`."""
    pyproject = tomllib.loads((EXAMPLES.parent / "pyproject.toml").read_text())
    target = pyproject["project"]["scripts"]["recolor"]
    assert target == "recolor.cli:main"
    module, attr = target.split(":")
    assert getattr(importlib.import_module(module), attr) is main
    assert "from .cli import main" in (EXAMPLES.parent / "recolor" / "__main__.py").read_text()


def test_help_lists_every_subcommand_with_its_line(capsys):
    from recolor.cli import _PLUGINS
    from recolor.train.cli import TRAINERS
    for argv, table in ((["--help"], _PLUGINS), (["train", "--help"], TRAINERS)):
        with pytest.raises(SystemExit):
            main(argv)
        out = " ".join(capsys.readouterr().out.split())  # argparse wraps the lines
        for name, (_, help_line) in table.items():
            assert f"{name} {help_line}" in out
    with pytest.raises(SystemExit):
        main(["train", "deoldify", "--help"])
    assert "NoGAN recipe, in three phases" in capsys.readouterr().out  # the module's docstring
