"""Bedrock conversation JSONL (`bedrock-conversation-2024`, e.g. from Nova Forge) -> canonical inputs.

The user turn holds the comment after a marker (default `User comment:`); the assistant turn is a JSON array of
segments keyed `content`, `E1..En` (or `L1..Ln`) and `emotion`, where the leaf label may carry its description
after `": "`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

from voc.errors import CommentError
from voc.importers.common import Collector, ImportResult, RowError, slug, split_leaf
from voc.taxonomy import Path_, Taxonomy

SCHEMA = "bedrock-conversation-2024"
DEFAULT_MARKER = "User comment:"
_FENCE = re.compile(r"^```[a-zA-Z]*\s*(.*?)\s*```$", re.S)


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


def _labels(seg: dict) -> list[str]:
    """The label values under E1..En or L1..Ln (one scheme, numbered from 1 without gaps)."""
    found = {p: sorted(k for k in seg if re.fullmatch(p + r"[1-9]\d*", k)) for p in ("E", "L")}
    if found["E"] and found["L"]:
        raise RowError("unparseable_segments", f"segment mixes E and L label keys: {found['E'] + found['L']}")
    prefix = "E" if found["E"] else "L"
    keys = found[prefix]
    expected = [f"{prefix}{i}" for i in range(1, len(keys) + 1)]
    if not keys or sorted(expected) != keys:
        raise RowError("unparseable_segments", f"segment label keys {keys} are not E1..En or L1..Ln")
    values = [seg[k] for k in expected]
    if not all(isinstance(v, str) for v in values):
        raise RowError("unparseable_segments", f"segment labels {values} are not all strings")
    return values


def parse_segments(text: str) -> tuple[list[dict], dict[Path_, str]]:
    """The assistant's JSON array -> canonical segments plus leaf descriptions found in it."""
    m = _FENCE.match(text.strip())
    try:
        data = json.loads(m.group(1) if m else text)
    except json.JSONDecodeError as e:
        raise RowError("unparseable_segments", f"assistant turn is not JSON ({e.msg})") from None
    if not isinstance(data, list) or not all(isinstance(s, dict) for s in data):
        raise RowError("unparseable_segments", "assistant turn is not a JSON array of segment objects")
    segments, descriptions = [], {}
    for seg in data:
        *upper, leaf = _labels(seg)
        label, desc = split_leaf(leaf)
        path = (*(u.strip() for u in upper), label)
        emotion = seg.get("emotion")
        segments.append({"content": seg.get("content"), **{f"L{i}": v for i, v in enumerate(path, start=1)},
                         "emotion": emotion.strip().lower() if isinstance(emotion, str) else emotion})
        if desc:
            descriptions.setdefault(path, desc)
    return segments, descriptions


def convert_record(obj: object, cid: str, marker: str | None) -> tuple[dict, dict[Path_, str]]:
    """One Bedrock conversation -> one canonical comment and its leaf descriptions (raises RowError)."""
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
    segments, descriptions = parse_segments(turn_text(messages[1]))
    return {"id": cid, "text": comment_text(turn_text(messages[0]), marker), "segments": segments}, descriptions


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise CommentError(str(path), None, f"cannot read Bedrock JSONL ({e})",
                           "pass a UTF-8 JSONL file, one conversation per line") from None


def import_bedrock(paths: Sequence[str | Path], marker: str | None = DEFAULT_MARKER,
                   taxonomy: Taxonomy | None = None) -> ImportResult:
    """Convert Bedrock conversation files; ids are `<file stem>-<line number>`; blank lines are skipped."""
    col = Collector("bedrock", taxonomy)
    for path in map(Path, paths):
        for lineno, line in enumerate(_lines(path), start=1):
            if not line.strip():
                continue
            col.read += 1
            try:
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as e:
                    raise RowError("bad_json", f"line is not JSON ({e.msg})") from None
                comment, descriptions = convert_record(obj, f"{slug(path.stem)}-{lineno:05d}", marker)
                col.add(comment, descriptions)
            except RowError as e:
                col.fail(path, lineno, e, line)
    return col.result()
