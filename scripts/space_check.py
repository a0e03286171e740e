"""Offline check of what a Hugging Face Space needs, and the upload command that deploys it.

    python scripts/space_check.py            # the check; exit status 1 if something is wrong
    python scripts/space_check.py --command USER/SPACE   # print the upload command only

Checks: README.md's YAML header (sdk gradio, app_file present, sdk_version the installed Gradio
and allowed by requirements.txt), requirements.txt (every line a valid requirement), and lists
the files that would be uploaded that a plain `git push` to a Space refuses without Git LFS
(binary files over 1 MB, any file over 10 MiB). `hf upload` stores those with LFS by itself.
"""
from __future__ import annotations

import argparse
import fnmatch
import subprocess
import sys
from pathlib import Path

import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
# not needed to run the app: left out of the upload
EXCLUDE = (".git/*", ".github/*", "tests/*", "docs/*", "benchmarks/*", "scripts/*",
           "*__pycache__*", "*.pyc", "DEVELOPERS.md", "requirements-*.txt", "pyproject.toml",
           "weights/HISTORY.md", "weights/*-samples.png")
MB, MIB = 1_000_000, 1 << 20


def header(readme: Path = ROOT / "README.md") -> dict:
    """The YAML front matter of the README (between the first two `---` lines)."""
    text = readme.read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        return {}
    return yaml.safe_load(text[4:text.index("\n---", 4)]) or {}


def requirements(path: Path = ROOT / "requirements.txt") -> list[Requirement]:
    """requirements.txt parsed (comments and blank lines skipped); raises on an invalid line."""
    lines = [ln.split("#", 1)[0].strip() for ln in path.read_text().splitlines()]
    return [Requirement(ln) for ln in lines if ln]


def tracked_files(root: Path = ROOT) -> list[Path]:
    names = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True,
                           check=True).stdout.splitlines()
    return [root / n for n in names if (root / n).is_file()]


def uploaded_files(root: Path = ROOT) -> list[Path]:
    """Tracked files minus EXCLUDE: what `command()` uploads."""
    return [f for f in tracked_files(root)
            if not any(fnmatch.fnmatch(str(f.relative_to(root)), p) for p in EXCLUDE)]


def is_binary(path: Path) -> bool:
    with path.open("rb") as f:
        return b"\0" in f.read(8192)


def needs_lfs(files: list[Path]) -> list[tuple[Path, int, str]]:
    """(file, bytes, why) for each file a Space's git refuses unless stored with LFS."""
    out = []
    for f in files:
        size = f.stat().st_size
        if size > 10 * MIB:
            out.append((f, size, "over 10 MiB"))
        elif size > MB and is_binary(f):
            out.append((f, size, "binary, over 1 MB"))
    return out


def problems(root: Path = ROOT) -> list[str]:
    """What is wrong for a Space, in words (empty: nothing)."""
    import gradio  # noqa: PLC0415

    h, bad = header(root / "README.md"), []
    if h.get("sdk") != "gradio":
        bad.append(f"README header: sdk is {h.get('sdk')!r}, not 'gradio'")
    app = h.get("app_file")
    if not app or not (root / app).is_file():
        bad.append(f"README header: app_file {app!r} is not a file")
    version = str(h.get("sdk_version", ""))
    if version != gradio.__version__:
        bad.append(f"README header: sdk_version {version!r}, installed Gradio "
                   f"{gradio.__version__} (the Space installs sdk_version)")
    try:
        reqs = {r.name.lower(): r for r in requirements(root / "requirements.txt")}
    except Exception as e:  # noqa: BLE001 - any parse error is the finding
        return bad + [f"requirements.txt: {e}"]
    if "gradio" in reqs and version and not reqs["gradio"].specifier.contains(version):
        bad.append(f"requirements.txt allows gradio {reqs['gradio'].specifier}, the header "
                   f"says {version}")
    return bad


def command(space: str) -> str:
    """The deploy commands: an export of the committed tree (no .venv, caches or untracked
    files), then one upload of it without EXCLUDE."""
    excludes = " ".join(f'--exclude "{p}"' for p in EXCLUDE if p != ".git/*")
    return ("rm -rf /tmp/recolor-space && mkdir /tmp/recolor-space && "
            "git archive HEAD | tar -x -C /tmp/recolor-space\n"
            f"hf upload {space} /tmp/recolor-space . --repo-type space {excludes}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--command", metavar="USER/SPACE", help="print the upload command and exit")
    args = p.parse_args()
    if args.command:
        print(command(args.command))
        return 0
    files = uploaded_files()
    print(f"{len(files)} files to upload, {sum(f.stat().st_size for f in files) / MB:.1f} MB")
    print("\nTracked files a Space's git refuses without LFS:\n\n"
          "| file | MB | needs LFS because | uploaded |\n|---|---|---|---|")
    for f, size, why in needs_lfs(tracked_files()):
        print(f"| {f.relative_to(ROOT)} | {size / MB:.1f} | {why} | "
              f"{'yes' if f in files else 'no (not needed by the app)'} |")
    bad = problems()
    print("\n" + ("\n".join(f"problem: {b}" for b in bad) if bad else
                  "README header and requirements.txt: fine for a Gradio Space"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
