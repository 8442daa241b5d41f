"""Numbered label key families: `E1..En` (Nova Forge), `L1..Ln`, `level_1..`, `Level 1..`, `l1..`.

Real exports name their level keys in several ways. A family is a prefix of letters (spaces, `_` and `-`
allowed after the first letter) followed by the level number, 1..n without gaps. The importer maps any family
to voc's canonical `L1..Ln` and records the mapping; the exporter writes a chosen family back, so a round trip
keeps the customer's keys.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from voc.importers.common import RowError

KEY = re.compile(r"([A-Za-z][A-Za-z _-]*)([1-9][0-9]*)")
FAMILY = re.compile(r"[A-Za-z][A-Za-z _-]*")


def family_keys(prefix: str, depth: int) -> list[str]:
    """`('E', 3)` -> `['E1', 'E2', 'E3']`; `('Level ', 2)` -> `['Level 1', 'Level 2']`."""
    return [f"{prefix}{i}" for i in range(1, depth + 1)]


def check_family(prefix: str) -> str:
    """Refuse a prefix the importer would not read back as one family (so export stays lossless)."""
    if not FAMILY.fullmatch(prefix):
        raise ValueError(f"label key family {prefix!r} must be letters, optionally followed by letters, spaces, "
                         "'_' or '-' (e.g. E, L, level_, 'Level ')")
    return prefix


def _shown(prefix: str) -> str:
    return f"{prefix}1..{prefix}n"


def segment_keys(seg: dict) -> tuple[str, list[str]]:
    """The segment's one key family and its keys in level order (raises RowError naming the keys)."""
    numbered: dict[str, dict[int, str]] = {}
    for key in seg:
        m = KEY.fullmatch(key) if isinstance(key, str) else None
        if m:
            numbered.setdefault(m.group(1), {})[int(m.group(2))] = key
    if not numbered:
        raise RowError("unparseable_segments", f"segment has no numbered label keys (E1..En, L1..Ln, level_1.., "
                                               f"'Level 1'..); its keys are {list(seg)}")
    if len(numbered) > 1:
        families = ", ".join(_shown(p) for p in sorted(numbered))
        raise RowError("mixed_level_keys", f"segment mixes label key families {families}; use one family")
    prefix, by_number = next(iter(numbered.items()))
    if sorted(by_number) != list(range(1, len(by_number) + 1)):
        raise RowError("unparseable_segments", f"segment label keys {sorted(by_number.values())} are not "
                                               f"{_shown(prefix)} numbered from 1 without gaps")
    return prefix, [by_number[i] for i in range(1, len(by_number) + 1)]


def record_family(families: Iterable[str]) -> str | None:
    """The one family all segments of a record use; None for a record without segments."""
    found = sorted(set(families))
    if len(found) > 1:
        raise RowError("mixed_level_keys", f"record mixes label key families {', '.join(map(_shown, found))} "
                                           "across its segments; use one family")
    return found[0] if found else None


def file_family(families: Iterable[str | None]) -> str | None:
    """The family most records of a file use (the first seen on a tie); the others fail as mixed."""
    counts = Counter(f for f in families if f is not None)
    return counts.most_common(1)[0][0] if counts else None


def mixed_error(family: str, file_fam: str) -> RowError:
    return RowError("mixed_level_keys", f"record uses label keys {_shown(family)}, but most records of this file use "
                                        f"{_shown(file_fam)}; use one family per file (or import the files apart)")


def mapping(prefix: str, depth: int) -> dict:
    """What import_report.json records: `{"family": "E", "keys": {"E1": "L1", ...}}`."""
    return {"family": prefix, "keys": {k: f"L{i}" for i, k in enumerate(family_keys(prefix, depth), start=1)}}
