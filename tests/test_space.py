"""The Space deploy check (scripts/space_check.py) on this tree, offline."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import space_check  # noqa: E402


def test_this_tree_is_ready_for_a_gradio_space():
    assert space_check.problems() == []
    h = space_check.header()
    assert h["sdk"] == "gradio" and h["app_file"] == "app.py"


def test_the_weights_need_lfs_and_are_uploaded():
    files = space_check.uploaded_files()
    names = {str(f.relative_to(ROOT)) for f in files}
    assert {"app.py", "requirements.txt", "README.md", "recolor/api.py"} <= names
    assert not any(n.startswith(("tests/", "docs/", "benchmarks/")) for n in names)
    lfs = {str(f.relative_to(ROOT)): why for f, _, why in space_check.needs_lfs(files)}
    assert lfs.get("weights/deoldify-slim.safetensors") == "over 10 MiB"
    assert lfs.get("weights/pix2pix-mnv2.safetensors") == "over 10 MiB"
    # every weight file the app loads is uploaded
    assert any(n.startswith("weights/references/") for n in names)


def test_a_wrong_header_is_reported(tmp_path):
    (tmp_path / "README.md").write_text("---\ntitle: x\nsdk: docker\napp_file: main.py\n"
                                        "sdk_version: 1.0\n---\n# x\n")
    (tmp_path / "requirements.txt").write_text("gradio>=6.0,<7\nnumpy<2\n")
    bad = space_check.problems(tmp_path)
    assert any("sdk is 'docker'" in b for b in bad)
    assert any("app_file 'main.py'" in b for b in bad)
    assert any("sdk_version" in b for b in bad)
    (tmp_path / "requirements.txt").write_text("gradio>=6.0,<7\nnot a requirement ===\n")
    assert any(b.startswith("requirements.txt") for b in space_check.problems(tmp_path))
