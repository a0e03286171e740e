import numpy as np
import pytest

from recolor import ModelUnavailable, colorize, learned


@pytest.fixture
def empty_weights(tmp_path, monkeypatch):
    monkeypatch.setattr(learned, "WEIGHTS", tmp_path)
    monkeypatch.setattr(learned, "_models", {})
    return tmp_path


@pytest.mark.parametrize("key", ["pix2pix", "deoldify"])
def test_missing_weights_are_a_clear_error(key, empty_weights):
    with pytest.raises(ModelUnavailable, match="not available") as info:
        colorize(np.zeros((16, 16), np.uint8), key)
    assert str(empty_weights) in str(info.value)


@pytest.mark.parametrize("key,files", [("pix2pix", learned.PIX2PIX_FILES),
                                       ("deoldify", learned.DEOLDIFY_FILES)])
def test_corrupt_weights_are_a_clear_error(key, files, empty_weights):
    (empty_weights / files[0]).write_bytes(b"garbage, not safetensors")
    with pytest.raises(ModelUnavailable, match=f"cannot load {files[0]}"):
        colorize(np.zeros((16, 16), np.uint8), key)
