"""Fetch real multi-speaker recordings that Debian ships, for the speaker tests and benchmarks.

The Debian package ``transcriber`` (GPL-2+) carries two annotated examples: ``know.sph`` (24 s of a
two-speaker telephone call, one speaker per channel, with the Transcriber annotation ``know.trs``)
and ``frint980428`` (20 s of French radio). They are not copied into this repository; this script
downloads the .deb with ``apt-get download`` (no install, no root needed for that step on Debian)
and unpacks the examples into the folder :func:`folder` names::

    python scripts/fetch_real_speech.py          # prints the folder; quick when already there
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

FILES = ("know.sph", "know.trs", "frint980428.wav", "frint980428.trs")
EXAMPLES = "usr/share/doc/transcriber/examples"


def folder() -> Path:
    """Where the examples live: $VOXNB_REAL_SPEECH, else voxnb's cache folder."""
    if os.environ.get("VOXNB_REAL_SPEECH"):
        return Path(os.environ["VOXNB_REAL_SPEECH"])
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("voxnb")) / "real-speech"


def fetch(out: Path | None = None) -> Path:
    out = out or folder()
    if all((out / name).exists() for name in FILES):
        return out
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        download = ["apt-get", "download", "transcriber"]
        if subprocess.run(download, cwd=tmp, capture_output=True).returncode and os.geteuid() == 0:
            # a fresh machine may have no package lists yet
            subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)
        subprocess.run(download, cwd=tmp, check=True, capture_output=True)
        deb = next(Path(tmp).glob("transcriber_*.deb"))
        subprocess.run(["dpkg-deb", "-x", str(deb), str(Path(tmp) / "x")], check=True)
        examples = Path(tmp) / "x" / EXAMPLES
        shutil.copy(
            Path(tmp) / "x" / "usr/share/doc/transcriber/copyright", out / "transcriber_copyright.txt"
        )
        for name in FILES:
            source = examples / name
            data = (
                source.read_bytes()
                if source.exists()
                else gzip.decompress((examples / f"{name}.gz").read_bytes())
            )
            partial = out / f".{name}.part"
            partial.write_bytes(data)
            os.replace(partial, out / name)
    return out


if __name__ == "__main__":
    try:
        print(fetch())
    except (OSError, subprocess.CalledProcessError) as exc:
        sys.exit(f"could not fetch the Debian package transcriber ({exc}); run 'apt-get update' first")
