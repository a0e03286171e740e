"""A seeded model of an old photo's luminance: what a scanned print or negative does to a photo.

`age(gray, strength, rng)` applies, in the order they happen to a real print:

1. optical blur (lens, enlarger), a Gaussian of up to ~1.6 px;
2. a faded, shifted tonal range: black lifted up to ~65, white lowered up to ~80, a gamma shift;
3. uneven exposure: a vignette plus a soft gradient across the print;
4. film grain whose strength depends on the local tone (strongest in the mid-tones), slightly
   clumped (correlated over ~1 px), sigma up to ~12 grey levels;
5. dust specks (dark or bright dots) and thin scratches;
6. scan resolution loss: down by up to 2.5x, then back up (bilinear);
7. JPEG compression, quality down to ~35.

Only the luminance is aged: a training target or ground truth keeps the clean photo's colour.

`strength` scales every effect (0: the input unchanged; 1: a typical old print, about what a
1.2 px blur, tones squeezed to 40-190, grain of sigma 9 and JPEG quality 35 give). All random
draws are made up front, independent of `strength`, so with the same seed a larger strength
ages the same photo along the same path, further: the error grows monotonically.
"""
from __future__ import annotations

import io
import zlib

import numpy as np
from PIL import Image
from scipy import ndimage

EFFECTS = ("blur", "fade", "exposure", "grain", "dust", "resolution", "jpeg")
P_EFFECT = 0.8  # each effect is part of a photo's mix with this probability (grain/fade always)


def age(gray: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    """An aged copy of `gray`: uint8 (H, W) or (H, W, 3) with equal channels; same shape and
    dtype back (three equal channels stay three equal channels)."""
    if gray.dtype != np.uint8:
        raise TypeError(f"age() takes uint8 images, got {gray.dtype}")
    if strength < 0:
        raise ValueError(f"strength must be >= 0, got {strength}")
    two_d = gray.ndim == 2
    y = (gray if two_d else gray[..., 0]).astype(np.float32)
    draws = _draw(rng, y.shape)
    if strength > 0:
        y = _apply(y, strength, draws)
    out = np.clip(np.rint(y), 0, 255).astype(np.uint8)
    return out if two_d else np.repeat(out[..., None], gray.shape[2], axis=2)


def seeded_rng(name: str, seed: int = 0) -> np.random.Generator:
    """A generator seeded from a file name (stable across runs and machines)."""
    return np.random.default_rng([zlib.crc32(name.encode()), seed])


def _draw(rng: np.random.Generator, shape: tuple[int, int]) -> dict:
    """Every random number the effects use, drawn in a fixed order whatever the strength."""
    h, w = shape
    on = rng.random(len(EFFECTS)) < P_EFFECT
    on[EFFECTS.index("fade")] = on[EFFECTS.index("grain")] = True
    n_dust, n_scratch = 60, 4
    return {
        "on": dict(zip(EFFECTS, on)),
        "amount": dict(zip(EFFECTS, rng.uniform(0.5, 1.0, len(EFFECTS)))),
        "fade": rng.uniform(0, 1, 3),            # black lift, white drop, gamma direction
        "centre": rng.uniform(-0.3, 0.3, 2),     # vignette centre offset (fraction of size)
        "gradient": rng.uniform(-1, 1, 2),       # direction and sign of the exposure gradient
        "noise": rng.standard_normal((h, w)).astype(np.float32),
        "dust_xy": rng.uniform(0, 1, (n_dust, 2)),
        "dust_r": rng.uniform(0.5, 2.0, n_dust),
        "dust_sign": np.where(rng.random(n_dust) < 0.7, -1.0, 1.0),
        "dust_order": rng.random(n_dust),        # dust i appears once strength * amount > it
        "scratch": rng.uniform(0, 1, (n_scratch, 4)),  # x start, tilt, length, brightness
        "scratch_order": rng.random(n_scratch),
    }


def _apply(y: np.ndarray, s: float, d: dict) -> np.ndarray:
    on, amt = d["on"], d["amount"]
    k = {e: s * amt[e] if on[e] else 0.0 for e in EFFECTS}  # each effect's strength
    if k["blur"]:
        y = ndimage.gaussian_filter(y, 1.6 * k["blur"])
    y = _fade(y, k["fade"], d["fade"])
    if k["exposure"]:
        y = y * _exposure(y.shape, k["exposure"], d["centre"], d["gradient"])
    y = _grain(y, k["grain"], d["noise"])
    if k["dust"]:
        y = _dust(y, k["dust"], d)
    if k["resolution"]:
        y = _resolution(y, 1.0 + 1.5 * k["resolution"])
    if k["jpeg"]:
        y = _jpeg(y, int(round(95 - 60 * min(k["jpeg"], 1.4))))
    return y


def _fade(y: np.ndarray, k: float, u: np.ndarray) -> np.ndarray:
    """Tones squeezed into [lo, hi] with a slight gamma shift: a faded print or a flat scan."""
    lo, hi = 65 * k * u[0], 255 - 80 * k * u[1]
    gamma = 1.0 + 0.25 * k * (2 * u[2] - 1)
    x = np.clip(y / 255.0, 0, 1) ** gamma
    return lo + (hi - lo) * x


def _exposure(shape: tuple[int, int], k: float, centre: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """A multiplicative field near 1: a vignette around an off-centre point and a linear
    gradient, as from an uneven enlarger lamp or a print that faded more on one side."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    u, v = xx / max(w - 1, 1) - 0.5 - centre[0], yy / max(h - 1, 1) - 0.5 - centre[1]
    vignette = 1.0 - 0.45 * k * np.minimum(u * u + v * v, 1.0)
    gradient = 1.0 + 0.15 * k * (grad[0] * (xx / max(w - 1, 1) - 0.5)
                                 + grad[1] * (yy / max(h - 1, 1) - 0.5))
    return vignette * gradient


def _grain(y: np.ndarray, k: float, noise: np.ndarray) -> np.ndarray:
    """Grain of sigma up to 12 * k, largest in the mid-tones (silver grains show least in the
    deepest blacks and the paper white), clumped by a 0.7 px blur of the noise."""
    if not k:
        return y
    clumped = ndimage.gaussian_filter(noise, 0.7)
    clumped /= clumped.std() + 1e-6
    x = np.clip(y / 255.0, 0, 1)
    sigma = 12.0 * k * (0.35 + 2.6 * x * (1 - x))
    return y + sigma * clumped


def _dust(y: np.ndarray, k: float, d: dict) -> np.ndarray:
    """Specks (mostly dark: dust on the negative prints dark; some bright: dust on the print)
    and thin, mostly vertical scratches (bright). More of them as k grows."""
    h, w = y.shape
    y = y.copy()
    yy, xx = np.mgrid[0:h, 0:w]
    scale = max(h, w) / 512
    for (fx, fy), r, sign, order in zip(d["dust_xy"], d["dust_r"], d["dust_sign"],
                                        d["dust_order"]):
        if order > 0.8 * k:
            continue
        cx, cy, rad = fx * w, fy * h, r * scale
        x0, x1 = int(max(cx - rad - 2, 0)), int(min(cx + rad + 3, w))
        y0, y1 = int(max(cy - rad - 2, 0)), int(min(cy + rad + 3, h))
        dist = np.hypot(xx[y0:y1, x0:x1] - cx, yy[y0:y1, x0:x1] - cy)
        mask = np.clip(rad + 0.5 - dist, 0, 1)
        target = 20.0 if sign < 0 else 235.0
        y[y0:y1, x0:x1] += mask * (target - y[y0:y1, x0:x1])
    for (fx, tilt, length, bright), order in zip(d["scratch"], d["scratch_order"]):
        if order > 0.5 * k:
            continue
        rows = np.arange(int(h * (0.3 + 0.7 * length)))
        cols = np.clip((fx * w + (tilt - 0.5) * 0.1 * rows).astype(int), 0, w - 1)
        y[rows, cols] += (0.3 + 0.5 * bright) * (235.0 - y[rows, cols])
    return y


def _resolution(y: np.ndarray, factor: float) -> np.ndarray:
    """Down by `factor` and back up, bilinear: a low-resolution scan or a small print."""
    h, w = y.shape
    small = (max(1, round(w / factor)), max(1, round(h / factor)))
    im = Image.fromarray(y.astype(np.float32), mode="F")
    return np.asarray(im.resize(small, Image.BILINEAR).resize((w, h), Image.BILINEAR))


def _jpeg(y: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(np.clip(np.rint(y), 0, 255).astype(np.uint8)).save(
        buf, "JPEG", quality=max(5, quality))
    buf.seek(0)
    with Image.open(buf) as im:
        return np.asarray(im.convert("L"), dtype=np.float32)
