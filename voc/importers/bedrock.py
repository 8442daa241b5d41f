"""Bedrock conversation JSONL (`bedrock-conversation-2024`, e.g. from Nova Forge) -> canonical inputs.

The user turn holds the comment after a marker (default `User comment:`); the assistant turn is a JSON array of
segments keyed `content`, a numbered label key family (`E1..En`, `L1..Ln`, `level_1..`, ...; see keys.py) and
`emotion`, where the leaf label may carry its description after `": "`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from voc.core.files import BadLine, jsonl_lines
from voc.core.taxonomy import Path_, Taxonomy
from voc.data.spans import DEFAULT_THRESHOLD
from voc.importers.common import Collector, ImportResult, RowError, slug, split_leaf
from voc.importers.keys import file_family, mapping, mixed_error, record_family, segment_keys

SCHEMA = "bedrock-conversation-2024"
DEFAULT_MARKER = "User comment:"
_FENCE = re.compile(r"^```[a-zA-Z]*\s*(.*?)\s*```$", re.S)


@dataclass
class Parsed:
    """One converted record, before the shared checks: the comment and what the report needs about it."""

    comment: dict
    descriptions: list[tuple[Path_, str]] = field(default_factory=list)
    family: str | None = None  # the label key family; None when the record has no segments
    marker_missing: bool = False


def turn_text(msg: dict) -> str:
    """The text of one turn: its `content` blocks' `text` joined by newlines."""
    blocks = msg.get("content")
    if not isinstance(blocks, list) or not blocks or not all(
            isinstance(b, dict) and isinstance(b.get("text"), str) for b in blocks):
        raise RowError("bad_turn", f"{msg.get('role')} turn content is not a list of {{text}} blocks")
    return "\n".join(b["text"] for b in blocks)


def comment_text(user_text: str, marker: str | None) -> str:
    """Text after the first marker; the whole turn when the marker is absent."""
    if marker and marker in user_text:
        return user_text.split(marker, 1)[1].strip()
    return user_text.strip()


def parse_segments(text: str) -> tuple[list[dict], list[tuple[Path_, str]], str | None]:
    """The assistant's JSON array -> canonical segments, (leaf, description) per segment, and the key family."""
    m = _FENCE.match(text.strip())
    try:
        data = json.loads(m.group(1) if m else text)
    except (json.JSONDecodeError, RecursionError) as e:
        raise RowError("unparseable_segments", f"assistant turn is not JSON ({getattr(e, 'msg', e)})") from None
    if not isinstance(data, list) or not all(isinstance(s, dict) for s in data):
        raise RowError("unparseable_segments", "assistant turn is not a JSON array of segment objects")
    segments, descriptions, families = [], [], []
    for seg in data:
        family, keys = segment_keys(seg)
        families.append(family)
        values = [seg[k] for k in keys]
        if not all(isinstance(v, str) for v in values):
            raise RowError("unparseable_segments", f"segment labels {values} are not all strings")
        *upper, leaf = values
        label, desc = split_leaf(leaf)
        path = (*(u.strip() for u in upper), label)
        emotion = seg.get("emotion")
        segments.append({"content": seg.get("content"), **{f"L{i}": v for i, v in enumerate(path, start=1)},
                         "emotion": emotion.strip().lower() if isinstance(emotion, str) else emotion})
        descriptions.append((path, desc))
    return segments, descriptions, record_family(families)


def convert_record(obj: object, cid: str, marker: str | None) -> Parsed:
    """One Bedrock conversation -> one canonical comment and what the report needs (raises RowError)."""
    if not isinstance(obj, dict) or not isinstance(obj.get("messages"), list):
        raise RowError("bad_record", "record is not an object with a messages list")
    if obj.get("schemaVersion") != SCHEMA:
        raise RowError("wrong_schema_version", f"schemaVersion is {obj.get('schemaVersion')!r}, not {SCHEMA!r}")
    messages = [m for m in obj["messages"] if isinstance(m, dict)]
    roles = [m.get("role") for m in messages]
    if "user" not in roles:
        raise RowError("missing_user_turn", "conversation has no user turn")
    if "assistant" not in roles[roles.index("user"):]:
        raise RowError("missing_assistant_turn", "conversation has no assistant turn after the user turn")
    if roles != ["user", "assistant"] or len(messages) != len(obj["messages"]):
        raise RowError("unexpected_turns", f"expected one user then one assistant turn, got {roles}")
    segments, descriptions, family = parse_segments(turn_text(messages[1]))
    user = turn_text(messages[0])
    comment = {"id": cid, "text": comment_text(user, marker), "segments": segments}
    return Parsed(comment, descriptions, family, bool(marker) and marker not in user)


def parse_file(path: Path, marker: str | None) -> Iterator[tuple[int, str, Parsed | RowError]]:
    """Every non-blank line with its conversion or the reason it failed, read by voc's one user-JSONL reader
    (a BOM is fine; a non-UTF-8, non-object, too-deep or lone-surrogate line fails that row, not the file)."""
    for lineno, line, value in jsonl_lines(path):
        if isinstance(value, BadLine):
            reason = "bad_json" if value.reason == "invalid_json" else value.reason
            yield lineno, line, RowError(reason, f"{value.problem}. Fix: {value.fix}")
            continue
        try:
            yield lineno, line, convert_record(value, f"{slug(path.stem)}-{lineno:05d}", marker)
        except RowError as e:
            yield lineno, line, e


def marker_fix(marker: str) -> str:
    return (f"the user turn has no {marker!r}, so the whole turn is used as the comment. Fix: pass --marker "
            "'<the text just before the comment>', or --marker '' if user turns hold only the comment")


def import_bedrock(paths: Sequence[str | Path], marker: str | None = DEFAULT_MARKER,
                   taxonomy: Taxonomy | None = None, fuzzy_threshold: float = DEFAULT_THRESHOLD) -> ImportResult:
    """Convert Bedrock conversation files; ids are `<file stem>-<line number>`.

    Each file's label key family is the one most of its records use; a record with another fails as
    `mixed_level_keys` rather than silently landing on the wrong levels.
    """
    col = Collector("bedrock", taxonomy, threshold=fuzzy_threshold)
    for path in map(Path, paths):
        rows = list(parse_file(path, marker))
        col.read += len(rows)
        family = file_family(p.family for _, _, p in rows if isinstance(p, Parsed))
        converted = col.converted
        for lineno, line, parsed in rows:
            try:
                if isinstance(parsed, RowError):
                    raise parsed
                if parsed.family not in (None, family):
                    raise mixed_error(parsed.family, family)
                col.add(parsed.comment, parsed.descriptions, source=path, lines=lineno)
            except RowError as e:
                col.fail(path, lineno, e, line)
                continue
            if parsed.marker_missing:
                col.counts["marker_missing"] += 1
                col.warn(path, lineno, "marker_missing", marker_fix(str(marker)))
        if family and col.depth and col.converted > converted:
            col.level_keys[str(path)] = mapping(family, col.depth)
    return col.result()
