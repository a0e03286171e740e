"""Stopping exactly the Ray processes a test started, never anyone else's.

`ray stop` kills every Ray process of the machine; a test's cluster is known instead by its own
`--temp-dir` (every head process names it on its command line) and by the process that
started it (an embedded `ray.init` makes the driver their parent). Their descendants (the
agents, which rename themselves, and the workers) go with them.
"""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every process we can read."""
    out = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        out[int(d.name)] = (ppid, cmd)
    return out


def tree(marker: str | None = None, roots: tuple[int, ...] = ()) -> set[int]:
    """Processes whose command line contains `marker`, the `roots`, and all their descendants."""
    procs = _processes()
    found = {p for p, (_, cmd) in procs.items() if marker and marker in cmd and p != os.getpid()}
    found |= {p for p in roots if p in procs}
    grew = True
    while grew:
        kids = {p for p, (pp, _) in procs.items() if pp in found} - found
        found |= kids
        grew = bool(kids)
    return found


def stop(marker: str | None = None, roots: tuple[int, ...] = (), grace: float = 5.0) -> set[int]:
    """SIGTERM the tree, SIGKILL whatever is left after `grace` seconds; returns what it hit."""
    hit = tree(marker, roots)
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        alive = {p for p in tree(marker, roots) | hit if Path(f"/proc/{p}").exists()}
        for p in alive:
            try:
                os.kill(p, sig)
            except (ProcessLookupError, PermissionError):
                pass
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and any(_alive(p) for p in alive):
            time.sleep(0.2)
    return hit


def _alive(pid: int) -> bool:
    """Running and not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def listening(pids: set[int]) -> list[str]:
    """The local addresses ("IP:PORT") of the TCP sockets `pids` listen on."""
    inodes = set()
    for p in pids:
        try:
            for fd in Path(f"/proc/{p}/fd").iterdir():
                link = os.readlink(fd)
                if link.startswith("socket:["):
                    inodes.add(link[8:-1])
        except OSError:
            continue
    out = []
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            f = line.split()
            if f[3] == "0A" and f[9] in inodes:  # 0A: LISTEN
                out.append(_address(f[1]))
    return out


def _address(hexaddr: str) -> str:
    """/proc/net/tcp's "0100007F:1F90" (or a 32-digit IPv6 one) -> "127.0.0.1:8080"."""
    ip, port = hexaddr.split(":")
    raw = bytes.fromhex(ip)
    words = [raw[i:i + 4][::-1] for i in range(0, len(raw), 4)]  # each 32-bit word is host-order
    b = b"".join(words)
    if len(b) == 16 and b[:12] == b"\0" * 10 + b"\xff\xff":
        b = b[12:]  # an IPv4-mapped IPv6 address
    text = ".".join(map(str, b)) if len(b) == 4 else ":".join(b[i:i + 2].hex()
                                                              for i in range(0, 16, 2))
    return f"{text}:{int(port, 16)}"
