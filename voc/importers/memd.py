"""MEMD-ABSA JSON -> canonical inputs. Levels: L1 domain, L2 entity, L3 attribute (from `ENTITY#ATTRIBUTE`).

Spans, categories and duplicate merging follow the ABSA rules shared with the ACOS importer (`absa.py`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from voc.core.errors import CommentError
from voc.core.files import decode_user_file
from voc.core.taxonomy import Taxonomy
from voc.data.spans import DEFAULT_THRESHOLD
from voc.importers.absa import absa_segment, add_absa, dedupe, span_text
from voc.importers.common import Collector, ImportResult, RowError, claim_prefix, raw_json, readable, slug

SENTIMENTS = {"POS": "positive", "NEG": "negative", "NEU": "neutral"}


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
