"""Is one uniform chroma gain the best way to buy colourfulness? Other gain policies, scored.

The learned methods reach the colour target by scaling their chroma (`saturation`). This scores
other policies on the same footing, PSNR where the mean colourfulness reaches the truth's - 5
(`chroma_frontier.psnr_at_target`), on the two halves of a folder (even and odd sorted photos):

- `uniform`: one gain k for every photo (what ships).
- `power P`: photo i gets clip(k * (30 / a_i) ** P, 1, 3), a_i its gain-1 result's
  colourfulness: P > 0 lifts the dull predictions more, P < 0 the colourful ones.
- `band`: the chroma's deviation from the photo's mean split at a Gaussian blur (sigma = short
  side / 32); the fine part's gain is the coarse part's times beta_fine / beta_coarse.
- `uv`: U and V get gains in the ratio beta_V / beta_U.
- `V/U r` (with `--uv-ratios`): V's gain is r times U's. A unit of V buys 1.89x the
  colourfulness per unit of RGB squared error that a unit of U buys (1.19), so r > 1 might pay.
- `V exponent e` (with `--v-exponents`): U's gain k, V's k ** e, the form `color.scale_chroma`
  takes (k = 1 leaves the prediction as it is).
- `agreement` (with `--agreement-pass`, like chroma_frontier's `--pass`): the listed passes are
  averaged, and each pixel's gain follows the quartile of the passes' spread it falls in
  (beta per quartile), next to one uniform gain over the same average.
- `oracle`: per-photo gains chosen with the truth (each photo's gain maximises PSNR + lambda * CF
  on its GRID curve): what any per-photo policy could gain at most. Not a policy to ship.
- `aim` (with `--aim-train DIR`): photo i gets the gain at which its colourfulness reaches
  k * c_i, c_i a prediction of its truth's colourfulness: a ridge regression of log(1 + CF) on
  our DeOldify encoder's pooled features of the gray photo, fitted on DIR (the train photos).
  Printed next to the same aim with the truth's own c_i (an upper bound).

The betas are least-squares slopes of the truth's chroma on the prediction's, pooled over the
even half (each photo weighted by 1 / its gain-1 error, as a dB mean weighs it), and applied to
both halves: the odd half checks what the even half chose. The gain-1 results are cached as PNG
(`--cache`), so a second run only scores.

    python research/gain_policies.py --data ../shared/data/val --method deoldify
    python research/gain_policies.py --data ../shared/data/val --method deoldify --powers '' \
        --agreement-pass render_factor=14 --agreement-pass flip,render_factor=14 \
        --agreement-pass render_factor=18 --agreement-pass flip,render_factor=18
    python research/gain_policies.py --data ../shared/data/val --method deoldify --powers '' \
        --oracle --aim-train ../shared/data/train
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the recolor package
from chroma_frontier import (TARGET_MARGIN, ensemble, parse_pass, pass_uvs,  # noqa: E402
                             psnr_at_target, with_uv)  # (this folder)
from recolor.color import gray_to_rgb, is_grayscale, luma, rgb_to_yuv, scale_chroma  # noqa: E402
from recolor.evaluate import list_photos  # noqa: E402
from recolor.images import load_image  # noqa: E402
from recolor.metrics import colourfulness, psnr  # noqa: E402

GRID = np.round(np.arange(0.8, 3.001, 0.05), 2)  # per-photo curves for the uniform and power policies
KS = np.round(np.arange(1.0, 2.601, 0.05), 2)  # k traced for the band and uv policies


def colour_photos(files: list[Path]) -> Iterator[tuple[Path, np.ndarray, np.ndarray]]:
    """(file, truth, its BT.601 gray) for each colour photo of `files`; gray ones skipped."""
    for f in files:
        truth = load_image(f, f.name)
        if not is_grayscale(truth):
            yield f, truth, gray_to_rgb(luma(truth))


def db_weight(pred: np.ndarray, truth: np.ndarray) -> float:
    """1 / the prediction's MSE: how much a photo counts in a pooled fit, as a dB mean weighs
    it (a small error moves PSNR more)."""
    return 1 / max(float(np.mean((pred.astype(float) - truth) ** 2)), 1e-6)


def load(files: list[Path], method: str, cache: Path) -> list[dict]:
    """Each colour photo's truth and gain-1 result (computed once, cached), with its per-photo
    PSNR and colourfulness over the uniform gains of GRID."""
    cache.mkdir(parents=True, exist_ok=True)
    photos = []
    for f, truth, gray in colour_photos(files):
        png = cache / f"{f.stem}.png"
        if not png.exists():
            Image.fromarray(ensemble(gray, method, [(False, {})])).save(png)  # at gain 1
        pred = np.asarray(Image.open(png).convert("RGB"))
        curves = [scale_chroma(pred, g) for g in GRID]
        photos.append({"truth": truth, "gray": gray, "pred": pred,
                       "psnr": np.array([psnr(c, truth) for c in curves]),
                       "cf": np.array([colourfulness(c) for c in curves]),
                       "truth_cf": colourfulness(truth)})
    return photos


def load_passes(files: list[Path], method: str, passes: list[str], cache: Path) -> list[dict]:
    """Each colour photo's truth and its passes' mean U, V (as `d` about the photo's mean,
    the truth's `r` about it, weight `w` as in `parts`) and per-pixel spread `s`: the mean
    over the passes of |UV - mean UV|^2. The passes' U, V are cached per photo."""
    cache.mkdir(parents=True, exist_ok=True)
    plan = "|".join(passes)
    photos = []
    for f, truth, gray in colour_photos(files):
        npz = cache / f"{f.stem}.npz"
        uv = None
        if npz.exists():
            with np.load(npz) as z:
                uv = z["uv"] if str(z["plan"]) == plan else None
        if uv is None:
            uv = np.clip(np.rint(pass_uvs(gray, method, [parse_pass(t) for t in passes])),
                         0, 255).astype(np.uint8)
            np.savez_compressed(npz, uv=uv, plan=plan)
        uv = uv.astype(np.float64)
        m = uv.mean(0)
        mean = m.reshape(-1, 2).mean(0)
        photos.append({"truth": truth, "gray": gray, "truth_cf": colourfulness(truth),
                       "mean": mean, "d": m - mean, "s": ((uv - m) ** 2).sum(-1).mean(0),
                       "r": rgb_to_yuv(truth)[..., 1:].astype(np.float64) - mean,
                       "w": db_weight(with_uv(gray, m), truth)})
    return photos


def fit_agreement(photos: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """The spread's quartiles (pooled) and the slope of the truth's chroma deviation on the
    prediction's in each quartile (pooled least squares, each photo weighted by `w`)."""
    edges = np.quantile(np.concatenate([p["s"].ravel() for p in photos]), [0.25, 0.5, 0.75])
    num, den = np.zeros(4), np.zeros(4)
    for p in photos:
        q = np.digitize(p["s"], edges)
        for i in range(4):
            d, r = p["d"][q == i], p["r"][q == i]
            num[i] += p["w"] * float((d * r).sum())
            den[i] += p["w"] * float((d * d).sum())
    return edges, num / np.maximum(den, 1e-12)


def uv_curve(photos: list[dict], uv_at) -> list[tuple[float, float]]:
    """Mean (CF, PSNR) over KS of each photo with the U, V `uv_at(photo, k)`, its Y kept."""
    rows = []
    for k in KS:
        cfs, psnrs = [], []
        for p in photos:
            out = with_uv(p["gray"], uv_at(p, k))
            cfs.append(colourfulness(out))
            psnrs.append(psnr(out, p["truth"]))
        rows.append((float(np.mean(cfs)), float(np.mean(psnrs))))
    return rows


def map_curve(photos: list[dict], gain_map) -> list[tuple[float, float]]:
    """`uv_curve` of the chroma mean + k * gain_map(photo) * d (per-pixel gains)."""
    return uv_curve(photos, lambda p, k: p["mean"] + k * gain_map(p)[..., None] * p["d"])


def parts(p: dict) -> dict:
    """The prediction's chroma as its photo mean plus a coarse and a fine deviation, and the
    truth's chroma about that mean."""
    yp, yt = rgb_to_yuv(p["pred"]).astype(np.float64), rgb_to_yuv(p["truth"]).astype(np.float64)
    mean = yp[..., 1:].reshape(-1, 2).mean(0)
    d = yp[..., 1:] - mean
    coarse = np.stack([gaussian_filter(d[..., c], min(d.shape[:2]) / 32) for c in (0, 1)], -1)
    return {"mean": mean, "d": d, "coarse": coarse, "fine": d - coarse, "r": yt[..., 1:] - mean,
            "w": db_weight(p["pred"], p["truth"])}


def fit_ratios(photos: list[dict]) -> dict[str, float]:
    """beta_fine / beta_coarse (joint least squares) and beta_V / beta_U, pooled and weighted."""
    A, b, uv = np.zeros((2, 2)), np.zeros(2), np.zeros((2, 2))
    for p in photos:
        q = p["parts"]
        c, f, r, w = q["coarse"].ravel(), q["fine"].ravel(), q["r"].ravel(), q["w"]
        A += w * np.array([[c @ c, c @ f], [c @ f, f @ f]])
        b += w * np.array([c @ r, f @ r])
        for ch in (0, 1):
            dc = q["d"][..., ch].ravel()
            uv[ch] += w * np.array([dc @ q["r"][..., ch].ravel(), dc @ dc])
    beta_coarse, beta_fine = np.linalg.solve(A, b)
    return {"band": float(beta_fine / beta_coarse),
            "uv": float((uv[1, 0] / uv[1, 1]) / (uv[0, 0] / uv[0, 1]))}


def score(rows: list[tuple[float, float]], photos: list[dict], margin: float = TARGET_MARGIN
          ) -> float | None:
    """PSNR at the photos' truth colourfulness - `margin` along (mean CF, mean PSNR) points."""
    truth = float(np.mean([p["truth_cf"] for p in photos]))
    return psnr_at_target([{"cf": c, "psnr": s, "truth_cf": truth} for c, s in rows], margin)


def at_gains(photos: list[dict], gains) -> tuple[float, float]:
    """Mean (CF, PSNR) with photo i at gains[i], read off each photo's GRID curve."""
    return (float(np.mean([np.interp(g, GRID, p["cf"]) for g, p in zip(gains, photos)])),
            float(np.mean([np.interp(g, GRID, p["psnr"]) for g, p in zip(gains, photos)])))


def ratio_curve(photos: list[dict], ratio: float) -> list[tuple[float, float]]:
    """`linear_curve` with V's gain `ratio` times U's, coarse and fine parts alike."""
    gains = np.array([1.0, ratio])
    return linear_curve(photos, gains, gains)


def exponent_curve(photos: list[dict], exponent: float) -> list[tuple[float, float]]:
    """`uv_curve` with U's deviation from the photo's mean scaled by k and V's by k ** exponent
    (what `color.scale_chroma(pred, k, exponent)` does)."""
    return uv_curve(photos, lambda p, k: p["parts"]["mean"]
                    + np.array([k, k ** exponent]) * p["parts"]["d"])


def power_curve(photos: list[dict], power: float) -> list[tuple[float, float]]:
    """Per-photo gains clip(k * (30 / a_i) ** power, 1, 3), read off each photo's GRID curve."""
    a = np.array([np.interp(1.0, GRID, p["cf"]) for p in photos])
    return [at_gains(photos, np.clip(k * (30 / np.maximum(a, 1e-3)) ** power, 1, 3))
            for k in np.arange(0.5, 4.0, 0.01)]


def linear_curve(photos: list[dict], coarse: np.ndarray, fine: np.ndarray
                 ) -> list[tuple[float, float]]:
    """`uv_curve` of the chroma mean + k * coarse_gain * coarse + k * fine_gain * fine (gains
    per U, V)."""
    def uv_at(p: dict, k: float) -> np.ndarray:
        q = p["parts"]
        return q["mean"] + k * (coarse * q["coarse"] + fine * q["fine"])
    return uv_curve(photos, uv_at)


def oracle_curve(photos: list[dict]) -> list[tuple[float, float]]:
    """Per-photo gains on GRID that maximise PSNR + lambda * CF, one point per lambda: the best
    mean PSNR any per-photo gains reach at each mean colourfulness (they use the truth)."""
    rows = []
    for lam in np.exp(np.linspace(-6, 3, 400)):
        i = [int(np.argmax(p["psnr"] + lam * p["cf"])) for p in photos]
        rows.append((float(np.mean([p["cf"][j] for p, j in zip(photos, i)])),
                     float(np.mean([p["psnr"][j] for p, j in zip(photos, i)]))))
    return rows


def aim_curve(photos: list[dict], aims: np.ndarray) -> list[tuple[float, float]]:
    """Photo i at the gain where its colourfulness reaches k * aims[i] (within GRID), over k."""
    return [at_gains(photos, [np.interp(k * c, p["cf"], GRID) if p["cf"][-1] > k * c
                              else GRID[-1] for p, c in zip(photos, aims)])
            for k in np.arange(0.2, 3.0, 0.005)]


def encoder_features(files: list[Path], cache: Path) -> tuple[np.ndarray, np.ndarray]:
    """(features, log(1 + truth CF)) of each colour photo of `files`: our DeOldify encoder and
    middle block on its gray version at 256 x 256, mean- and max-pooled (cached in `cache`,
    reused only for the same files)."""
    names = np.array([str(f.resolve()) for f in files])
    if cache.exists():
        with np.load(cache) as z:
            if "files" in z and np.array_equal(z["files"], names):
                return z["x"], z["y"]
    import torch  # noqa: PLC0415 - only this policy needs the network itself

    from recolor.learned import WEIGHTS  # noqa: PLC0415
    from recolor.models.deoldify import load_generator  # noqa: PLC0415
    from recolor.train.deoldify import normalize  # noqa: PLC0415
    g = load_generator(WEIGHTS / "deoldify-slim.safetensors", optimize=False)
    xs, ys = [], []
    for _, truth, gray in colour_photos(files):
        small = np.asarray(Image.fromarray(gray[..., 0]).resize((256, 256), Image.BILINEAR))
        x = normalize(torch.tensor(small).float().div(255).expand(3, -1, -1))[None]
        with torch.inference_mode():
            h = g.layers[3](g.layers[2](g.layers[1](g.layers[0](x))))
        xs.append(torch.cat([h.mean((2, 3)), h.amax((2, 3))], 1)[0].numpy())
        ys.append(np.log1p(colourfulness(truth)))
    x, y = np.array(xs, np.float64), np.array(ys)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, x=x, y=y, files=names)
    return x, y


def ridge(x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    """Weights and intercept of ridge regression (the intercept not penalised)."""
    xm, ym = x.mean(0), y.mean()
    xc = x - xm
    w = np.linalg.solve(xc.T @ xc + alpha * np.eye(x.shape[1]), xc.T @ (y - ym))
    return w, float(ym - xm @ w)


def fit_aim(x: np.ndarray, y: np.ndarray, folds: int = 5
            ) -> Callable[[np.ndarray], np.ndarray]:
    """A predictor of log(1 + CF) from features: standardised ridge, alpha by k-fold CV."""
    mu, sd = x.mean(0), x.std(0) + 1e-6
    z = (x - mu) / sd
    fold = np.arange(len(y)) % folds

    def cv_r(alpha: float) -> float:
        pred = np.zeros_like(y)
        for i in range(folds):
            w, b = ridge(z[fold != i], y[fold != i], alpha)
            pred[fold == i] = z[fold == i] @ w + b
        return float(np.corrcoef(pred, y)[0, 1])

    alpha = max(np.logspace(0, 5, 11), key=cv_r)
    w, b = ridge(z, y, alpha)
    return lambda xv: ((xv - mu) / sd) @ w + b


def floats(text: str) -> list[float]:
    """A comma-separated list of numbers ("" is none)."""
    return [float(x) for x in text.split(",") if x.strip()]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="folder of colour photos")
    p.add_argument("--method", required=True, help="a method with a saturation option")
    p.add_argument("--cache", default=None, help="gain-1 results (default runs/gain-cache/METHOD)")
    p.add_argument("--powers", default="-1,-0.75,-0.5,-0.25,0.25,0.5,0.75,1")
    p.add_argument("--agreement-pass", dest="agreement", action="append", default=[],
                   metavar="[flip,]OPT=V", help="a pass of the agreement policy (repeatable)")
    p.add_argument("--uv-ratios", default="", metavar="R,R,...",
                   help="fixed V/U gain ratios to score beside the uniform gain")
    p.add_argument("--v-exponents", default="", metavar="E,E,...",
                   help="V's gain as U's to these powers, scored beside the uniform gain")
    p.add_argument("--oracle", action="store_true", help="per-photo gains chosen with the truth")
    p.add_argument("--aim-train", default="", metavar="DIR",
                   help="colour photos to fit the aim policy's colourfulness predictor on")
    a = p.parse_args()
    files = list_photos(Path(a.data))
    cache = Path(a.cache or f"runs/gain-cache/{a.method}")
    halves = {name: load(files[start::2], a.method, cache) for name, start in (("even", 0), ("odd", 1))}
    for photos in halves.values():
        for ph in photos:
            ph["parts"] = parts(ph)
    ratios = fit_ratios(halves["even"])
    one = np.ones(2)
    # policy -> (the halves' photos it is scored on, its curve over one half)
    policies = {"uniform": (halves, lambda ph: power_curve(ph, 0.0))}
    for pw in floats(a.powers):
        policies[f"power {pw:g}"] = (halves, lambda ph, pw=pw: power_curve(ph, pw))
    policies[f"band (fine/coarse {ratios['band']:.3f})"] = (halves, lambda ph: linear_curve(
        ph, one, one * ratios["band"]))
    policies[f"uv (V/U {ratios['uv']:.3f})"] = (halves, lambda ph: ratio_curve(ph, ratios["uv"]))
    for r in floats(a.uv_ratios):
        policies[f"V/U {r:g}"] = (halves, lambda ph, r=r: ratio_curve(ph, r))
    for e in floats(a.v_exponents):
        policies[f"V exponent {e:g}"] = (halves, lambda ph, e=e: exponent_curve(ph, e))
    if a.agreement:
        agree = {name: load_passes(files[start::2], a.method, a.agreement, cache / "passes")
                 for name, start in (("even", 0), ("odd", 1))}
        edges, betas = fit_agreement(agree["even"])
        ratio = betas / betas[0]
        print(f"agreement: spread quartiles {np.round(edges, 2).tolist()}, slopes "
              f"{np.round(betas, 3).tolist()} (most to least agreed)")
        policies[f"uniform, the {len(a.agreement)} passes averaged"] = (agree, lambda ph: map_curve(
            ph, lambda q: np.ones(q["s"].shape)))
        policies["agreement"] = (agree, lambda ph: map_curve(
            ph, lambda q: ratio[np.digitize(q["s"], edges)]))
    if a.oracle:
        policies["oracle: per-photo gains chosen with the truth (a bound)"] = (halves, oracle_curve)
    if a.aim_train:
        train = list_photos(Path(a.aim_train))
        predict = fit_aim(*encoder_features(train, cache / "aim-train.npz"))
        for name, start in (("even", 0), ("odd", 1)):
            x, y = encoder_features(files[start::2], cache / f"aim-{name}.npz")
            guess = predict(x)
            print(f"aim: predicted log(1 + CF) against the truth's, {name} half: "
                  f"r = {np.corrcoef(guess, y)[0, 1]:.3f}")
            for ph, c in zip(halves[name], np.expm1(guess), strict=True):
                ph["aim"] = c
        policies["aim at the truth's colourfulness (a bound)"] = (
            halves, lambda ph: aim_curve(ph, np.array([q["truth_cf"] for q in ph])))
        policies["aim at the predicted colourfulness"] = (
            halves, lambda ph: aim_curve(ph, np.array([q["aim"] for q in ph])))
    print(f"{a.method} on {a.data}: {len(halves['even'])} even and {len(halves['odd'])} odd "
          f"photos; ratios fitted on the even half\n")
    print("| policy | even score dB | odd score dB |\n|---|---|---|")
    for name, (sets, curve) in policies.items():
        s = [score(curve(ph), ph) for ph in sets.values()]
        print(f"| {name} | " + " | ".join("not reached" if x is None else f"{x:.3f}" for x in s)
              + " |", flush=True)


if __name__ == "__main__":
    main()
