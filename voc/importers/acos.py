"""ACOS TSV -> canonical inputs. Each line: the tokenised text, then tab-separated `a,b CATEGORY s c,d`.

Same level mapping as MEMD (L1 domain, L2 entity, L3 attribute); sentiment 0/1/2 = negative/neutral/positive.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from voc.core.errors import CommentError
from voc.core.files import decode_user_file
from voc.core.taxonomy import Taxonomy
from voc.data.spans import DEFAULT_THRESHOLD
from voc.importers.absa import absa_segment, add_absa, dedupe
from voc.importers.common import Collector, ImportResult, RowError, claim_prefix, readable, slug

SENTIMENTS = {"0": "negative", "1": "neutral", "2": "positive"}
_SPAN = re.compile(r"^(-?\d+),(-?\d+)$")


def _span(value: str, what: str) -> tuple[int, int]:
    m = _SPAN.match(value)
    if not m:
        raise RowError("bad_span", f"{what} span {value!r} is not 'start,end'")
    return int(m.group(1)), int(m.group(2))


def parse_quad(quad: str, tokens: Sequence[str], domain: str) -> dict:
    """`'0,1 SUPPORT#PRICE 1 -1,-1'` -> one canonical segment."""
    parts = quad.split()
    if len(parts) != 4:
        raise RowError("bad_quadruple", f"quadruple {quad!r} is not 'a,b CATEGORY sentiment c,d'")
    aspect, category, sentiment, opinion = parts
    if sentiment not in SENTIMENTS:
        raise RowError("unknown_sentiment", f"sentiment {sentiment!r} is not 0, 1 or 2")
    return absa_segment(tokens, _span(aspect, "aspect"), _span(opinion, "opinion"), category,
                        SENTIMENTS[sentiment], domain)


def convert_line(line: str, domain: str, cid: str, split: str) -> tuple[dict, int]:
    """One ACOS line -> one canonical comment and its merged duplicate count (raises RowError)."""
    text, *quads = line.split("\t")
    tokens = text.split()
    segments = [parse_quad(q, tokens, domain) for q in quads if q.strip()]
    kept, merged = dedupe(segments)
    return {"id": cid, "text": " ".join(tokens), "segments": kept, "split": split}, merged


def split_of(path: Path) -> str:
    """`laptop_quad_train.tsv` -> `train`; a name without train/dev/test keeps its own stem."""
    m = re.search(r"(train|dev|test)", path.stem.lower())
    return m.group(1) if m else slug(path.stem)


def _lines(path: Path) -> list[str]:
    """The file's lines, decoded by voc's one user-file rule (a BOM is fine; a bad byte is named by its line)."""
    return decode_user_file(path, CommentError).splitlines()


def import_acos(paths: Sequence[str | Path], domain: str | None = None, taxonomy: Taxonomy | None = None,
                fuzzy_threshold: float = DEFAULT_THRESHOLD) -> ImportResult:
    """Convert ACOS files; the domain defaults to the file name's first part (`rest16_quad_dev` -> `Rest16`).

    Blank lines are not rows and are skipped; ids are `<domain>-<split>-<line number>`.
    """
    col = Collector("acos", taxonomy, threshold=fuzzy_threshold)
    prefixes: dict[str, Path] = {}
    for path in map(Path, paths):
        dom = domain or readable(path.stem.split("_")[0])
        split = split_of(path)
        prefix = claim_prefix(prefixes, dom, split, path,
                              "import the two files in separate runs, or give them different --domain names")
        for lineno, line in enumerate(_lines(path), start=1):
            if not line.strip():
                continue
            col.read += 1
            try:
                add_absa(col, convert_line(line, dom, f"{prefix}-{lineno:05d}", split), path, lineno)
            except RowError as e:
                col.fail(path, lineno, e, line)
    return col.result()
