"""recolor.video: frames in, colorized frames out with the audio kept; flicker; bad files."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")

from recolor import video  # noqa: E402
from recolor.color import lab_to_rgb, rgb_to_lab  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "03_landscape_ref.jpg"


def make_clip(path: Path, frames: int = 10, fps: int = 10, audio: bool = True,
              size: tuple[int, int] = (96, 64)) -> list[np.ndarray]:
    """A gray 'camera pan' over an example photo (optionally with a 440 Hz tone), written with
    the wheel's ffmpeg; returns the frames written."""
    photo = np.asarray(Image.open(EXAMPLE).convert("L").resize((size[0] * 2, size[1])))
    clip = [np.repeat(photo[:, i * 4:i * 4 + size[0], None], 3, 2) for i in range(frames)]
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "rawvideo",
           "-pix_fmt", "rgb24", "-s", f"{size[0]}x{size[1]}", "-r", str(fps), "-i", "-"]
    if audio:
        cmd += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={frames / fps}", "-shortest"]
    cmd += ["-pix_fmt", "yuv420p", "-vcodec", "libx264", str(path)]
    subprocess.run(cmd, input=b"".join(f.tobytes() for f in clip), check=True)
    return clip


def test_clip_is_colorized_frame_by_frame_with_its_audio(tmp_path: Path) -> None:
    src, dst = tmp_path / "in.mp4", tmp_path / "out.mp4"
    make_clip(src)
    r = video.colorize_video(src, dst, "pix2pix")
    assert (r.frames, r.size, r.audio) == (10, (96, 64), True)
    meta = video.probe(dst)
    assert tuple(meta["size"]) == (96, 64) and meta.get("audio_codec")
    frames = list(video.read_frames(dst))
    assert len(frames) == 10
    lab = rgb_to_lab(frames[5])
    assert np.hypot(lab[..., 1], lab[..., 2]).mean() > 2  # colour, not gray
    assert r.flicker_in < 0.5 < r.flicker_out < 20  # gray in (codec noise only), colour out


def test_frames_in_parallel_keep_their_order(tmp_path: Path) -> None:
    src = tmp_path / "in.mp4"
    make_clip(src, frames=12, audio=False)
    one = video.colorize_video(src, tmp_path / "one.mp4", "pix2pix", workers=1)
    three = video.colorize_video(src, tmp_path / "three.mp4", "pix2pix", workers=3)
    assert three.frames == one.frames == 12
    assert three.flicker_out == pytest.approx(one.flicker_out, rel=1e-6)  # same frames, same order
    a = list(video.read_frames(tmp_path / "one.mp4"))
    b = list(video.read_frames(tmp_path / "three.mp4"))
    assert max(np.abs(x.astype(int) - y).mean() for x, y in zip(a, b)) < 1.0


def test_a_failing_frame_stops_the_parallel_run(tmp_path: Path, monkeypatch) -> None:
    src = tmp_path / "in.mp4"
    make_clip(src, frames=12, audio=False)
    calls = []

    def flaky(frame, method, reference=None, **options):
        calls.append(1)
        if len(calls) == 5:
            raise video.RecolorError("frame 5 is broken")
        return frame

    monkeypatch.setattr(video, "colorize", flaky)
    with pytest.raises(video.RecolorError, match="frame 5"):
        video.colorize_video(src, tmp_path / "out.mp4", "lab_mean", reference=str(EXAMPLE),
                             workers=2)
    assert len(calls) < 12  # it stopped reading and colorizing after the failure


def test_transfer_uses_one_reference_and_max_seconds_cuts(tmp_path: Path) -> None:
    src, dst = tmp_path / "in.mp4", tmp_path / "out.mp4"
    make_clip(src, frames=12, audio=False)
    r = video.colorize_video(src, dst, "lab_mean", reference=str(EXAMPLE), max_seconds=0.5)
    assert r.frames == 5 and not r.audio and "first 0.5 s" in r.notes[0]
    assert len(list(video.read_frames(dst))) == 5
    # Lab mean transfer on a gray clip gives every frame the reference's mean colour
    ref_ab = rgb_to_lab(np.asarray(Image.open(EXAMPLE).convert("RGB")))[..., 1:].mean((0, 1))
    out_ab = rgb_to_lab(list(video.read_frames(dst))[2])[..., 1:].mean((0, 1))
    assert np.abs(out_ab - ref_ab).max() < 4


def test_chroma_flicker() -> None:
    gray = [np.full((8, 8, 3), v, np.uint8) for v in (10, 200, 90)]
    assert video.chroma_flicker(gray) == pytest.approx(0, abs=1e-3)
    assert video.chroma_flicker(gray[:1]) == 0
    lab = np.zeros((8, 8, 3), np.float32)
    lab[..., 0] = 60
    a = lab.copy(); a[..., 1] = 20  # noqa: E702
    b = lab.copy(); b[..., 2] = 20  # noqa: E702
    frames = [lab_to_rgb(x) for x in (lab, a, lab)]
    # uint8 rounding moves Lab a little: about 20 per step
    assert video.chroma_flicker(frames) == pytest.approx(20, abs=1.5)
    assert video.chroma_flicker([lab_to_rgb(x) for x in (a, b)]) == pytest.approx(
        np.hypot(20, 20), abs=2)


@pytest.mark.parametrize("content", [b"", b"not a video at all", b"\x00\x00\x00\x18ftypmp42"])
def test_bad_files_are_clear_errors(tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(content)
    with pytest.raises(video.VideoError, match="not a readable video"):
        video.colorize_video(bad, tmp_path / "out.mp4", "pix2pix")
    assert not (tmp_path / "out.mp4").exists()
    with pytest.raises(video.VideoError, match="no such file"):
        video.probe(tmp_path / "missing.mp4")


def test_cli(tmp_path: Path) -> None:
    src, dst = tmp_path / "in.mp4", tmp_path / "out.mp4"
    make_clip(src, frames=4)
    run = subprocess.run([sys.executable, "-m", "recolor", "video", str(src), "--out", str(dst),
                          "--method", "pix2pix"], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert "4 frames" in run.stdout and "audio kept" in run.stdout and "flicker" in run.stdout
    assert dst.stat().st_size > 0
    bad = tmp_path / "bad.mp4"
    bad.write_text("hello")
    run = subprocess.run([sys.executable, "-m", "recolor", "video", str(bad), "--out",
                          str(tmp_path / "x.mp4")], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 1 and "not a readable video" in run.stderr
