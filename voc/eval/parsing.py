"""Turn raw model output into segment dicts, robustly.

A small model's output is untrusted text: it may wrap the JSON in code fences or prose, emit one object
instead of a list, stop mid-object at the token limit, or produce garbage. `parse_output` never raises; it
returns what it could recover and says how (`status`), so scoring can count a broken output as a miss
instead of crashing the evaluation.

Value rules (documented in docs/scoring.md): strings are stripped; numbers and booleans are stringified with
JSON spelling (`5`, `true`), because a model that writes a number where a label belongs still made an
attempt; null, lists and objects are dropped (treated as a missing key); empty strings count as missing.
Keys are matched case-insensitively; other keys are dropped. A lone UTF-16 surrogate (a model can write the
escape `"\\ud83d"`, half an emoji) cannot be stored as UTF-8: it becomes U+FFFD and the status is at best
`repaired`. A bug in the parser itself gives status `parser_error`, counted apart from `invalid` model output.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from voc.core.files import SURROGATE
from voc.core.taxonomy import Taxonomy

MAX_CHARS = 64 * 1024  # only the first 64 KB of an output is examined: bounds the work on runaway generations
MAX_CANDIDATES = 200  # at most this many '[' / '{' start positions are tried when the JSON is embedded in prose
_FENCE = re.compile(r"```[A-Za-z0-9_-]*[ \t]*\n?(.*?)(?:```|\Z)", re.DOTALL)
_DECODER = json.JSONDecoder()
STATUSES = ("ok", "repaired", "invalid", "parser_error")
INVALID = frozenset({"invalid", "parser_error"})  # statuses with nothing usable: scored as misses
log = logging.getLogger("voc.eval.parsing")


@dataclass
class ParseResult:
    segments: list[dict]
    status: str  # "ok" (parsed directly), "repaired" (extracted/wrapped/recovered/cleaned), "invalid" (nothing
    # usable), "parser_error" (the parser itself failed: a voc bug, not the model's fault)
    json_valid: bool
    schema_complete: bool


def _to_text(raw: Any) -> str:
    if isinstance(raw, bytes | bytearray):
        return bytes(raw[: MAX_CHARS * 4]).decode("utf-8", errors="replace")[:MAX_CHARS]
    return (raw if isinstance(raw, str) else "" if raw is None else str(raw))[:MAX_CHARS]


def _without_surrogates(segments: list[dict]) -> tuple[list[dict], bool]:
    """Segments with every lone surrogate replaced by U+FFFD, and whether any was found."""
    if not any(SURROGATE.search(v) for seg in segments for v in seg.values()):
        return segments, False
    return [{k: SURROGATE.sub("\ufffd", v) for k, v in seg.items()} for seg in segments], True


def strip_fences(text: str) -> str:
    """The content of the first code fence (an unclosed fence runs to the end), else the text; stripped."""
    match = _FENCE.search(text)
    return (match.group(1) if match else text).strip()


def _scalar(value: Any) -> str | None:
    """A field value as a label string, or None when it cannot be one (see the module docstring)."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    return None


def _clean_segment(obj: dict, fields: Sequence[str]) -> dict | None:
    """Keep only the known fields, in canonical order; None when the object has none of them."""
    lowered = {str(k).strip().lower(): v for k, v in obj.items()}
    seg = {}
    for name in fields:
        value = _scalar(lowered.get(name.lower()))
        if value is not None:
            seg[name] = value
    return seg or None


def _segments_from(value: Any, fields: Sequence[str]) -> tuple[list[dict], bool] | None:
    """Segments from a decoded JSON value, and whether every item was a usable object; None if not a shape
    we understand. A lone object is wrapped; an object holding a list of objects (e.g. {"segments": [..]})
    is unwrapped."""
    if isinstance(value, dict):
        seg = _clean_segment(value, fields)
        if seg is not None:
            return [seg], True
        for inner in value.values():
            if isinstance(inner, list) and any(isinstance(x, dict) for x in inner):
                return _segments_from(inner, fields)
        return None
    if not isinstance(value, list):
        return None
    segments = [s for s in (_clean_segment(x, fields) for x in value if isinstance(x, dict)) if s is not None]
    return segments, len(segments) == len(value)


def _recover_list(text: str, start: int) -> list[Any]:
    """Decode the items of a JSON array at `start` one by one, stopping at the first broken one (truncation)."""
    items: list[Any] = []
    pos, n = start + 1, len(text)
    while pos < n:
        while pos < n and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= n or text[pos] == "]":
            break
        try:
            item, pos = _DECODER.raw_decode(text, pos)
        except (ValueError, RecursionError):
            break
        items.append(item)
    return items


def _embedded(text: str, fields: Sequence[str]) -> tuple[list[dict], bool] | None:
    """Find the first JSON array/object in `text` that yields segments, recovering truncated arrays."""
    empty_seen = False
    starts = (m.start() for m in re.finditer(r"[\[{]", text))
    for count, pos in enumerate(starts):
        if count >= MAX_CANDIDATES:
            break
        try:
            value, _ = _DECODER.raw_decode(text, pos)
            empty_seen = empty_seen or value == []
        except (ValueError, RecursionError):
            value = _recover_list(text, pos) if text[pos] == "[" else None
        found = _segments_from(value, fields)
        if found and found[0]:
            return found
    return ([], True) if empty_seen else None


def _complete(segments: list[dict], fields: Sequence[str]) -> bool:
    return all(all(f in seg for f in fields) for seg in segments)


def parse_output(raw: str, levels: Sequence[str]) -> ParseResult:
    """Extract a list of segment dicts from model output. Never raises."""
    try:
        return _parse(raw, levels)
    except Exception as e:  # noqa: BLE001 - last line of defence: a parser bug must not abort an evaluation
        log.warning("parse_output failed on an output (counted as parser_error, a voc bug): %r", e)
        return ParseResult([], "parser_error", False, False)


def _parse(raw: str, levels: Sequence[str]) -> ParseResult:
    fields = ("content", *levels, "emotion")
    body = strip_fences(_to_text(raw))
    try:
        value, json_valid = json.loads(body), True
    except (ValueError, RecursionError):
        value, json_valid = None, False
    found = _segments_from(value, fields) if json_valid else None
    if found is not None and (found[0] or value == []):
        status = "ok" if isinstance(value, list) and found[1] else "repaired"
    else:
        found = _embedded(body, fields)
        status = "repaired"
    if found is None:
        return ParseResult([], "invalid", json_valid, False)
    segments, cleaned = _without_surrogates(found[0])
    status = "repaired" if cleaned or SURROGATE.search(body) else status
    return ParseResult(segments, status, json_valid, found[1] and _complete(segments, fields))


def norm_text(value: object) -> str:
    """Text folded for matching up to case and whitespace: label names here, comment grounding in scoring."""
    return " ".join(str(value).split()).casefold()


def normalize_labels(segments: list[dict], taxonomy: Taxonomy) -> tuple[list[dict], int]:
    """Map labels that match a taxonomy name only up to case/whitespace onto the canonical name.

    Matching is per level; a folded name that is ambiguous at its level is left alone. Emotions are folded to
    lower case. Returns new segment dicts and the number of fields changed.
    """
    lookup: list[dict[str, str | None]] = []
    for level in range(1, taxonomy.depth + 1):
        table: dict[str, str | None] = {}
        for name in taxonomy.names_at(level):
            table[norm_text(name)] = None if norm_text(name) in table else name
        lookup.append(table)
    out, changed = [], 0
    for seg in segments:
        new = dict(seg)
        for level, key in enumerate(taxonomy.levels):
            value = new.get(key)
            if isinstance(value, str) and value not in taxonomy.names_at(level + 1):
                canonical = lookup[level].get(norm_text(value))
                if canonical is not None and canonical != value:
                    new[key], changed = canonical, changed + 1
        emotion = new.get("emotion")
        if isinstance(emotion, str) and norm_text(emotion) != emotion:
            new["emotion"], changed = norm_text(emotion), changed + 1
        out.append(new)
    return out, changed
