"""Reading and validating `comments.jsonl`: every row is accepted, rejected with a reason, or an error.

Strict mode raises a `CommentError` naming file:line, the bad value and the fix (with the closest valid label).
Lenient mode collects the same problems as reject reasons; the caller writes them to `rejects.jsonl` and the
counts to the metrics, so no row is ever dropped silently.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from voc.errors import CommentError
from voc.taxonomy import Taxonomy, path_key

EMOTIONS = ("positive", "negative", "neutral")


@dataclass
class LoadResult:
    accepted: list[dict] = field(default_factory=list)
    rejects: list[dict] = field(default_factory=list)
    warnings: Counter = field(default_factory=Counter)
    read: int = 0

    def counts(self) -> dict:
        reasons = Counter(r["reason"] for r in self.rejects)
        return {"read": self.read, "accepted": len(self.accepted), "rejected": len(self.rejects),
                "reject_reasons": dict(sorted(reasons.items())), "warnings": dict(sorted(self.warnings.items()))}


class _Reject(Exception):
    def __init__(self, reason: str, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.reason, self.problem, self.fix = reason, problem, fix


def check_label_path(seg: dict, taxonomy: Taxonomy) -> tuple[str, ...]:
    """Return the segment's label path, or raise _Reject saying which level is wrong and what is closest."""
    path: list[str] = []
    for i, level in enumerate(taxonomy.levels, start=1):
        value = seg.get(level)
        if not isinstance(value, str) or not value.strip():
            raise _Reject("missing_label", f"segment has no {level} label", f"add a {level} value from taxonomy.csv")
        if not taxonomy.has_path((*path, value)):
            closest = taxonomy.closest(value, i, path)
            elsewhere = [lv for lv in taxonomy.level_of(value) if lv != i]
            if elsewhere:
                raise _Reject("wrong_level", f"{level}={value!r} is a level-L{elsewhere[0]} label, not an {level} label"
                              f" under {path_key(path) or 'the root'}",
                              f"put {value!r} in L{elsewhere[0]}; the closest {level} label here is {closest!r}")
            raise _Reject("unknown_label", f"unknown {level} label {value!r} under {path_key(path) or 'the root'}",
                          f"use a label from taxonomy.csv; closest valid label: {closest!r}")
        path.append(value)
    return tuple(path)


def check_segment(seg: object, text: str, taxonomy: Taxonomy, warnings: Counter) -> dict:
    if not isinstance(seg, dict):
        raise _Reject("bad_segment", f"segment {seg!r:.60} is not an object", "write each segment as a JSON object")
    path = check_label_path(seg, taxonomy)
    emotion = seg.get("emotion")
    if emotion not in EMOTIONS:
        raise _Reject("bad_emotion", f"emotion {emotion!r} is not one of {list(EMOTIONS)}",
                      f"use one of {', '.join(EMOTIONS)}")
    content = seg.get("content")
    if not isinstance(content, str) or not content.strip():
        raise _Reject("missing_content", "segment has no content", "copy the segment's words from the comment text")
    if content not in text:
        warnings["content_not_span"] += 1  # kept: annotators paraphrase; counted so it is visible
    return {"content": content, **dict(zip(taxonomy.levels, path, strict=True)), "emotion": emotion}


def truncate(text: str, segments: list[dict], max_chars: int, warnings: Counter) -> tuple[str, list[dict]]:
    """Cut an over-long comment to `max_chars`; segments no longer inside the text are removed and counted."""
    if len(text) <= max_chars:
        return text, segments
    warnings["truncated"] += 1
    text = text[:max_chars]
    kept = [s for s in segments if s["content"] in text]
    warnings["segments_cut_by_truncation"] += len(segments) - len(kept)
    return text, kept


def check_comment(obj: object, taxonomy: Taxonomy, seen: set[str], strict: bool, max_chars: int,
                  warnings: Counter) -> dict:
    if not isinstance(obj, dict):
        raise _Reject("not_an_object", "the line is not a JSON object", "write one JSON object per line")
    cid = obj.get("id")
    if not isinstance(cid, str | int) or isinstance(cid, bool) or str(cid).strip() == "":
        raise _Reject("missing_id", "the comment has no id", "give every comment a unique string id")
    cid = str(cid)
    if cid in seen:
        raise _Reject("duplicate_id", f"duplicate id {cid!r}", "make ids unique (e.g. append a suffix)")
    if "text" not in obj or not isinstance(obj["text"], str):
        raise _Reject("missing_text", f"comment {cid!r} has no 'text' string", "add the comment's text")
    text = obj["text"]
    if not text.strip():
        raise _Reject("empty_text", f"comment {cid!r} has empty text", "remove the line or fill in the text")
    segs = obj.get("segments")
    if not isinstance(segs, list):
        raise _Reject("missing_segments", f"comment {cid!r} has no 'segments' list", "add a segments list")
    if not segs:
        if strict:
            raise _Reject("no_segments", f"comment {cid!r} has no segments",
                          "label at least one segment, or set prepare.strict: false to keep it as 'nothing to report'")
        warnings["no_segments"] += 1
    segments = [check_segment(s, text, taxonomy, warnings) for s in segs]
    text, segments = truncate(text, segments, max_chars, warnings)
    seen.add(cid)
    return {"id": cid, "text": text, "segments": segments}


def load_comments(path: str | Path, taxonomy: Taxonomy, strict: bool = True, max_chars: int = 2000) -> LoadResult:
    """Validate every line of a comments.jsonl against the taxonomy."""
    result, seen = LoadResult(), set()
    raw_lines = Path(path).read_bytes().removeprefix(b"\xef\xbb\xbf").splitlines()
    for lineno, raw in enumerate(raw_lines, start=1):
        if not raw.strip():
            continue
        result.read += 1
        line = raw.decode("utf-8", errors="replace")
        try:
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                raise _Reject("not_utf8", "the line is not valid UTF-8", "re-save the file as UTF-8") from None
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise _Reject("invalid_json", f"invalid JSON ({e.msg} at column {e.colno})",
                              "write one complete JSON object per line") from None
            result.accepted.append(check_comment(obj, taxonomy, seen, strict, max_chars, result.warnings))
        except _Reject as r:
            if strict:
                raise CommentError(str(path), lineno, r.problem, r.fix) from None
            result.rejects.append({"file": str(path), "line": lineno, "reason": r.reason, "problem": r.problem,
                                   "fix": r.fix, "raw": line[:500]})
    return result


def leaf_counts(records: Sequence[dict], levels: Sequence[str]) -> dict[str, int]:
    """Frequency of every leaf path, most common first (drives the long-tail buckets and plot)."""
    counts: Counter = Counter()
    for r in records:
        for s in r["segments"]:
            counts[path_key([s[lv] for lv in levels])] += 1
    return dict(counts.most_common())
