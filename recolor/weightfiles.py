"""Weight files on disk: a safetensors file's metadata and tensors, a file's sha256, and the
weights folder's manifest.json. Defined here once for the models, the trainers and the scripts.
"""
from __future__ import annotations

import hashlib
import json
import os
import struct
from pathlib import Path

import torch

_MAX_HEADER = 100 << 20  # a safetensors JSON header is kilobytes; refuse anything absurd


def sha256_of(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The ``__metadata__`` of a safetensors file (str -> str), read from its header alone:
    8 bytes of little-endian header length, then that many bytes of JSON. No tensor is read,
    so this is cheap enough to call at import. A file that is not safetensors is a ValueError."""
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) != 8:
            raise ValueError(f"{Path(path).name}: too short for a safetensors file")
        (n,) = struct.unpack("<Q", head)
        if not 2 <= n <= _MAX_HEADER:
            raise ValueError(f"{Path(path).name}: not a safetensors file (header of {n} bytes)")
        try:
            header = json.loads(f.read(n))
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ValueError(f"{Path(path).name}: not a safetensors file ({e})") from None
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    return {str(k): str(v) for k, v in (meta or {}).items()}


def read_safetensors(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """All tensors of a safetensors file (on the CPU, in their stored dtype) and its metadata."""
    from safetensors.torch import load_file  # noqa: PLC0415

    return load_file(str(path)), read_metadata(path)


def update_manifest(weights_dir: str | os.PathLike, file: str | os.PathLike,
                    entry: dict) -> None:
    """Enter ``file`` (its name, sha256 and size, and ``entry``) in ``weights_dir``'s
    manifest.json under the file's stem, written atomically."""
    weights_dir, file = Path(weights_dir), Path(file)
    path = weights_dir / "manifest.json"
    manifest = json.loads(path.read_text()) if path.exists() else {}
    manifest[file.stem] = {"file": file.name, "sha256": sha256_of(file),
                           "bytes": file.stat().st_size, **entry}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
