from pathlib import Path

import numpy as np
from PIL import Image

from recolor.cli import main

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
    out = Image.open(tmp_path / "o" / "good_lab_mean.png")
    assert out.size == Image.open(good).size
    assert (tmp_path / "o" / "good_mean_std.png").exists()


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
    rc = main(["colorize", str(EXAMPLES / "04_street.jpg"), "--out", str(tmp_path)])
    err = capsys.readouterr().err
    written = sorted(p.name for p in tmp_path.glob("*.png"))
    for key in ("mean_std", "lab_mean", "pdf"):
        assert f"04_street_{key}.png" in written
    # the learned methods either wrote their image or said why not
    for key in ("pix2pix", "deoldify"):
        assert f"04_street_{key}.png" in written or "not available" in err
    assert rc == 0


def test_help_lists_every_subcommand_with_its_line(capsys):
    import pytest
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
