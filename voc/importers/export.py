"""Prepared SFT records -> Bedrock conversation JSONL, so a team can move data to and from Nova Forge.

The output is exactly what `import_bedrock` reads back: the system prompt as-is, the comment after the
`User comment:` marker, and the gold segments as a JSON array keyed `content`, `E1..En` (or another label key
family, such as the one `voc import` recorded in import_report.json), `emotion` (the leaf label followed by
`": " + description` when a taxonomy is given).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from voc.core.errors import CommentError
from voc.core.files import iter_jsonl, write_jsonl
from voc.core.taxonomy import MAX_LEVELS, Path_, Taxonomy
from voc.importers.bedrock import DEFAULT_MARKER, SCHEMA
from voc.importers.keys import check_family, family_keys

DEFAULT_FAMILY = "E"


def _bedrock_segment(seg: dict, descriptions: dict[Path_, str], family: str) -> dict:
    path = tuple(seg[f"L{i}"] for i in range(1, MAX_LEVELS + 1) if f"L{i}" in seg)
    if not path:
        raise ValueError(f"segment {seg!r} has no L1..Ln labels")
    if ": " in path[-1]:
        raise ValueError(f"leaf label {path[-1]!r} contains ': ', which Bedrock readers split off as a description")
    desc = descriptions.get(path)
    labels = [*path[:-1], f"{path[-1]}: {desc}" if desc else path[-1]]
    keys = family_keys(family, len(labels))
    return {"content": seg["content"], **dict(zip(keys, labels, strict=True)), "emotion": seg["emotion"]}


def _key_list(prefix: str, depth: int) -> str:
    return ", ".join(json.dumps(k) for k in ("content", *family_keys(prefix, depth), "emotion"))


def _family_keys(system: str, depth: int, family: str) -> str:
    """Rename the key list the system prompt asks for ("L1".."Ln" -> e.g. "E1".."En") to match the answers."""
    return system.replace(_key_list("L", depth), _key_list(family, depth))


def to_bedrock(record: dict, marker: str | None = DEFAULT_MARKER, descriptions: dict[Path_, str] | None = None,
               level_keys: str = DEFAULT_FAMILY) -> dict:
    """One prepared record (`text`, `segments`, `messages`) -> one bedrock-conversation-2024 record.

    `level_keys` is the label key family written (E -> E1..En); import reads any family back to L1..Ln.
    """
    family = check_family(level_keys)
    system = next((m["content"] for m in record["messages"] if m.get("role") == "system"), None)
    segments = [_bedrock_segment(s, descriptions or {}, family) for s in record["segments"]]
    if system and segments:
        system = _family_keys(system, len(segments[0]) - 2, family)
    user = f"{marker} {record['text']}" if marker else record["text"]
    out: dict = {"schemaVersion": SCHEMA}
    if system:
        out["system"] = [{"text": system}]
    out["messages"] = [{"role": "user", "content": [{"text": user}]},
                       {"role": "assistant", "content": [{"text": json.dumps(segments, ensure_ascii=False)}]}]
    return out


def _records(path: Path) -> Iterable[tuple[int, dict]]:
    fix = "pass a prepared records file such as data/prepared/voc/train.jsonl"
    for lineno, rec in iter_jsonl(path, fix, CommentError):
        if not (isinstance(rec, dict) and isinstance(rec.get("text"), str)
                and isinstance(rec.get("segments"), list) and isinstance(rec.get("messages"), list)):
            raise CommentError(str(path), lineno, "record lacks text, segments or messages",
                               "pass prepared SFT records ({id, text, segments, messages})")
        yield lineno, rec


def export_bedrock(in_path: str | Path, out_path: str | Path, marker: str | None = DEFAULT_MARKER,
                   taxonomy: Taxonomy | None = None, level_keys: str = DEFAULT_FAMILY) -> int:
    """Write `in_path`'s prepared records to `out_path` as Bedrock JSONL; return the number written."""
    check_family(level_keys)
    in_path = Path(in_path)
    descriptions = taxonomy.descriptions if taxonomy else {}
    rows = []
    for lineno, rec in _records(in_path):
        try:
            rows.append(to_bedrock(rec, marker, descriptions, level_keys))
        except (KeyError, ValueError) as e:
            raise CommentError(str(in_path), lineno, f"cannot export this record ({e})",
                               "fix the record's segments (content, L1..Ln, emotion) or regenerate it") from None
    return write_jsonl(out_path, rows)
