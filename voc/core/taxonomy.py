"""The label taxonomy: an n-level tree (1 to 6 levels) read from `taxonomy.csv`.

Labels are compared as *paths* (`L1/L2/...`), so equal names at different levels or under different parents
never merge.
"""

from __future__ import annotations

import csv
import difflib
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from voc.core.errors import TaxonomyError

MAX_LEVELS = 6
SEP = "/"

Path_ = tuple[str, ...]


def path_key(path: Sequence[str]) -> str:
    """Encode a label path as one string, e.g. ('App', 'Login') -> 'App/Login'."""
    return SEP.join(path)


@dataclass(frozen=True)
class Taxonomy:
    levels: tuple[str, ...]
    leaves: tuple[Path_, ...]
    descriptions: dict[Path_, str] = field(default_factory=dict, compare=False)

    @property
    def depth(self) -> int:
        return len(self.levels)

    def prefixes(self, level: int) -> set[Path_]:
        """All valid paths cut after `level` levels (1-based)."""
        return {leaf[:level] for leaf in self.leaves}

    def has_path(self, path: Sequence[str]) -> bool:
        """True if `path` is a valid prefix of some leaf (a full leaf when len == depth)."""
        return tuple(path) in self.prefixes(len(path)) if 0 < len(path) <= self.depth else False

    def names_at(self, level: int) -> set[str]:
        """All label names used at one level (1-based)."""
        return {leaf[level - 1] for leaf in self.leaves}

    def closest(self, value: str, level: int, parent: Sequence[str] = ()) -> str | None:
        """The most similar valid label at `level` (under `parent` when that parent is valid)."""
        parent = tuple(parent)
        options = sorted({leaf[level - 1] for leaf in self.leaves if leaf[: len(parent)] == parent})
        options = options or sorted(self.names_at(level))
        lowered = {o.lower(): o for o in options}
        if value.lower() in lowered:
            return lowered[value.lower()]
        match = difflib.get_close_matches(value, options, n=1, cutoff=0.0)
        return match[0] if match else None

    def level_of(self, value: str) -> list[int]:
        """The 1-based levels at which `value` is a valid label name (to explain 'wrong level' errors)."""
        return [i for i in range(1, self.depth + 1) if value in self.names_at(i)]


def _decode(path: Path) -> str:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")  # accept a BOM
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise TaxonomyError(str(path), line, f"the file is not UTF-8 (byte {raw[e.start]:#x})",
                            "re-save the CSV as UTF-8") from None
    return text


def parse_header(header: list[str], path: str) -> tuple[str, ...]:
    cols = [c.strip() for c in header]
    if len(cols) < 2 or cols[-1] != "description":
        raise TaxonomyError(path, 1, f"header {cols} must be L1,...,Ln,description",
                            "make the last column 'description' and name the level columns L1..Ln")
    levels = tuple(cols[:-1])
    expected = tuple(f"L{i}" for i in range(1, len(levels) + 1))
    if levels != expected or len(levels) > MAX_LEVELS:
        raise TaxonomyError(path, 1, f"level columns {list(levels)} do not match {list(expected)}",
                            f"name the level columns L1..Ln in order, with 1 <= n <= {MAX_LEVELS}")
    return levels


def load_taxonomy(path: str | Path) -> Taxonomy:
    """Read and validate `taxonomy.csv`: header `L1,...,Ln,description`, one row per leaf path."""
    path = Path(path)
    text = _decode(path)
    rows = list(csv.reader(io.StringIO(text)))  # csv handles CRLF
    if not rows or not any(c.strip() for c in rows[0]):
        raise TaxonomyError(str(path), 1, "the taxonomy file is empty",
                            "add a header L1,...,Ln,description and one row per leaf")
    levels = parse_header(rows[0], str(path))
    leaves: list[Path_] = []
    descriptions: dict[Path_, str] = {}
    first_seen: dict[Path_, int] = {}
    for lineno, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue  # blank line: nothing to drop
        if len(row) != len(levels) + 1:
            raise TaxonomyError(str(path), lineno, f"row has {len(row)} columns, header has {len(levels) + 1}",
                                "give every row one value per level plus a description (quote commas)")
        *names, desc = (c.strip() for c in row)
        leaf = tuple(names)
        if any(not n for n in leaf):
            raise TaxonomyError(str(path), lineno, f"empty label in path {list(leaf)}",
                                "fill in every level of the leaf path")
        if any(SEP in n for n in leaf):
            raise TaxonomyError(str(path), lineno, f"label in {list(leaf)} contains '{SEP}'",
                                f"rename the label without '{SEP}', which voc uses to join paths")
        if not desc:
            raise TaxonomyError(str(path), lineno, f"leaf {path_key(leaf)} has no description",
                                "write a one-line description of what belongs under this leaf")
        if leaf in first_seen:
            raise TaxonomyError(str(path), lineno,
                                f"duplicate leaf path {path_key(leaf)} (first on line {first_seen[leaf]})",
                                "keep one row per leaf path")
        first_seen[leaf] = lineno
        leaves.append(leaf)
        descriptions[leaf] = desc
    if not leaves:
        raise TaxonomyError(str(path), 1, "the taxonomy has a header but no leaves", "add one row per leaf path")
    return Taxonomy(levels=levels, leaves=tuple(leaves), descriptions=descriptions)


def write_taxonomy(path: str | Path, taxonomy: Taxonomy) -> None:
    """Write the canonical CSV (used by the importers and the demo generator)."""
    from voc.core.files import atomic_path

    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow([*taxonomy.levels, "description"])
        for leaf in taxonomy.leaves:
            w.writerow([*leaf, taxonomy.descriptions.get(leaf, "")])
