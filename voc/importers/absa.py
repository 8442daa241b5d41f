"""The ABSA rules the MEMD and ACOS importers share: spans are token ranges `[from, to)` into the sentence's
tokens, `-1,-1` means implicit, a segment's content is the aspect span, else the opinion span, else the whole
sentence, and the levels are domain > entity > attribute (from `ENTITY#ATTRIBUTE`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from voc.importers.common import Collector, RowError, readable

IMPLICIT = (-1, -1)


def span_text(tokens: Sequence[str], start: int, end: int, what: str) -> str | None:
    """The tokens in [start, end) joined by spaces; None for an implicit span."""
    if (start, end) == IMPLICIT:
        return None
    if not 0 <= start < end <= len(tokens):
        raise RowError("span_out_of_range", f"{what} span {start},{end} is outside the {len(tokens)} tokens")
    return " ".join(tokens[start:end])


def category_path(domain: str, category: object) -> tuple[str, str, str]:
    """`('Laptop', 'HARD_DISC#GENERAL')` -> `('Laptop', 'Hard disc', 'General')`."""
    parts = category.split("#") if isinstance(category, str) else []
    if len(parts) != 2 or not all(p.strip() for p in parts):
        raise RowError("bad_category", f"category {category!r} is not ENTITY#ATTRIBUTE")
    return domain, readable(parts[0].strip()), readable(parts[1].strip())


def absa_segment(tokens: Sequence[str], aspect: tuple[int, int], opinion: tuple[int, int], category: object,
                 emotion: str, domain: str) -> dict:
    """One canonical segment from one ABSA quadruple."""
    path = category_path(domain, category)
    content = span_text(tokens, *aspect, "aspect") or span_text(tokens, *opinion, "opinion") or " ".join(tokens)
    return {"content": content, "L1": path[0], "L2": path[1], "L3": path[2], "emotion": emotion}


def dedupe(segments: list[dict]) -> tuple[list[dict], int]:
    """Keep one segment per (content, path, emotion): several opinions on one aspect label it once.

    Returns the kept segments and how many were merged into them, which the report counts.
    """
    seen: set[tuple] = set()
    out = []
    for seg in segments:
        key = tuple(seg.values())
        if key not in seen:
            seen.add(key)
            out.append(seg)
    return out, len(segments) - len(out)


def add_absa(col: Collector, converted: tuple[dict, int], source: Path, line: int) -> None:
    """Store one MEMD/ACOS comment and count the duplicate segments merged in it."""
    comment, merged = converted
    col.add(comment, source=source, lines=line)
    col.counts["duplicate_segments_merged"] += merged
