"""MEMD-ABSA JSON -> canonical inputs. Levels: L1 domain, L2 entity, L3 attribute (from `ENTITY#ATTRIBUTE`).

The ABSA helpers here are shared with the ACOS importer: spans are token ranges `[from, to)` into
`raw_words.split()`, `-1,-1` means implicit, and a segment's content is the aspect span, else the opinion span,
else the whole sentence.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from voc.core.errors import CommentError
from voc.core.files import decode_user_file
from voc.core.taxonomy import Taxonomy
from voc.data.spans import DEFAULT_THRESHOLD
from voc.importers.common import Collector, ImportResult, RowError, claim_prefix, raw_json, readable, slug

SENTIMENTS = {"POS": "positive", "NEG": "negative", "NEU": "neutral"}
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


def _span(obj: object, tokens: Sequence[str], what: str) -> tuple[int, int]:
    """Read {from, to, term} and check the term matches the tokens (catches off-by-one exports)."""
    if not isinstance(obj, dict) or not all(isinstance(obj.get(k), int) for k in ("from", "to")):
        raise RowError("bad_span", f"{what} is not {{from: int, to: int, term}}: {obj!r}")
    start, end = obj["from"], obj["to"]
    text = span_text(tokens, start, end, what)
    term = obj.get("term")
    if text is not None and isinstance(term, list) and term != list(tokens[start:end]):
        raise RowError("span_term_mismatch", f"{what} span {start},{end} is {text!r} but term is {term!r}")
    return start, end


def convert_record(rec: object, domain: str, cid: str, split: str) -> tuple[dict, int]:
    """One MEMD sentence -> one canonical comment and its merged duplicate count (raises RowError)."""
    if not isinstance(rec, dict) or not isinstance(rec.get("raw_words"), str):
        raise RowError("bad_record", "record is not an object with a raw_words string")
    tokens = rec["raw_words"].split()
    quads = rec.get("quadruples")
    if not isinstance(quads, list) or not all(isinstance(q, dict) for q in quads):
        raise RowError("bad_record", "quadruples is not a list of objects")
    segments = []
    for q in quads:
        sentiment = str(q.get("sentiment", "")).upper()
        if sentiment not in SENTIMENTS:
            raise RowError("unknown_sentiment", f"sentiment {q.get('sentiment')!r} is not POS, NEG or NEU")
        aspect, opinion = _span(q.get("aspect"), tokens, "aspect"), _span(q.get("opinion"), tokens, "opinion")
        segments.append(absa_segment(tokens, aspect, opinion, q.get("category"), SENTIMENTS[sentiment], domain))
    kept, merged = dedupe(segments)
    return {"id": cid, "text": " ".join(tokens), "segments": kept, "split": split}, merged


def memd_inputs(paths: Sequence[str | Path]) -> list[Path]:
    """Files as given; a folder stands for its *.json files (e.g. Laptop/ -> Dev, Test, Train)."""
    out: list[Path] = []
    for p in map(Path, paths):
        out.extend(sorted(p.glob("*.json")) if p.is_dir() else [p])
    return out


def _load(path: Path) -> list:
    text = decode_user_file(path, CommentError)  # a BOM is fine; a bad byte is named by its line
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as e:
        problem = "the JSON is nested too deeply to read" if isinstance(e, RecursionError) else f"invalid JSON ({e})"
        raise CommentError(str(path), getattr(e, "lineno", None), f"cannot read MEMD JSON: {problem}",
                           "pass a MEMD-ABSA file (a JSON list of {raw_words, quadruples})") from None
    if not isinstance(data, list):
        raise CommentError(str(path), 1, "top level is not a JSON list", "pass a MEMD-ABSA Train/Dev/Test.json file")
    return data


def import_memd(paths: Sequence[str | Path], domain: str | None = None, taxonomy: Taxonomy | None = None,
                fuzzy_threshold: float = DEFAULT_THRESHOLD) -> ImportResult:
    """Convert MEMD-ABSA files; ids are `<domain>-<split>-<record number>`, and each comment keeps its split."""
    col = Collector("memd", taxonomy, threshold=fuzzy_threshold)
    prefixes: dict[str, Path] = {}
    for path in memd_inputs(paths):
        dom = domain or readable(path.resolve().parent.name)
        split = slug(path.stem)
        prefix = claim_prefix(prefixes, dom, split, path,
                              "import the two files in separate runs, or give each folder its own --domain")
        for n, rec in enumerate(_load(path), start=1):
            col.read += 1
            try:
                add_absa(col, convert_record(rec, dom, f"{prefix}-{n:05d}", split), path, n)
            except RowError as e:
                col.fail(path, n, e, raw_json(rec))
    return col.result()
