"""Reading and validating `comments.jsonl`: every row is accepted, rejected with a reason, or an error.

Strict mode raises a `CommentError` naming file:line, the bad value and the fix (with the closest valid label).
Lenient mode collects the same problems as reject reasons; the caller writes them to `rejects.jsonl` and the
counts to the metrics, so no row is ever dropped silently. Harmless repairs (a label with stray spaces, an
emotion in capitals, an unknown extra key) are made in both modes, counted as warnings and logged with file:line.

Each segment's `content` is located in the text (`voc.data.spans.locate`: verbatim, relaxed or fuzzy). The segment
is always kept with the annotator's content; the outcome is counted (`content_verbatim`, `content_relaxed`,
`content_fuzzy`, `content_not_found`, over the segments of accepted comments) and the located span decides
whether a segment survives truncation to `max_chars`.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from voc.core.errors import CommentError
from voc.core.files import BadLine, jsonl_lines
from voc.core.taxonomy import Taxonomy, path_key
from voc.data.spans import DEFAULT_THRESHOLD, OUTCOMES, Span, locate

EMOTIONS = ("positive", "negative", "neutral")
LOG_LIMIT = 20  # file:line warnings logged per kind and file; the rest are counted only
_LEVEL_KEY = re.compile(r"[Ll](\d+)")
log = logging.getLogger("voc.data.comments")


@dataclass
class LoadResult:
    accepted: list[dict] = field(default_factory=list)
    rejects: list[dict] = field(default_factory=list)
    warnings: Counter = field(default_factory=lambda: Counter({f"content_{o}": 0 for o in OUTCOMES}))
    notes: list[str] = field(default_factory=list)  # "file:line: what was repaired or is doubtful"
    read: int = 0

    def counts(self) -> dict:
        reasons = Counter(r["reason"] for r in self.rejects)
        return {"read": self.read, "accepted": len(self.accepted), "rejected": len(self.rejects),
                "reject_reasons": dict(sorted(reasons.items())), "warnings": dict(sorted(self.warnings.items()))}


class _Reject(Exception):
    def __init__(self, reason: str, problem: str, fix: str) -> None:
        super().__init__(problem)
        self.reason, self.problem, self.fix = reason, problem, fix


@dataclass
class _Comment:
    """Warnings and notes of one comment: merged into the result only when the comment is accepted."""

    warnings: Counter = field(default_factory=Counter)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (warning kind, message)

    def warn(self, kind: str, message: str) -> None:
        self.warnings[kind] += 1
        self.notes.append((kind, message))


def check_label_path(seg: dict, taxonomy: Taxonomy, found: _Comment) -> tuple[str, ...]:
    """Return the segment's label path, or raise _Reject saying which level is wrong and what is closest.

    Values are stripped like taxonomy cells are, so `"Password reset "` matches (counted as `label_stripped`)."""
    path: list[str] = []
    for i, level in enumerate(taxonomy.levels, start=1):
        raw = seg.get(level)
        if not isinstance(raw, str) or not raw.strip():
            raise _Reject("missing_label", f"segment has no {level} label", f"add a {level} value from taxonomy.csv")
        value = raw.strip()
        if not taxonomy.has_path((*path, value)):
            closest = taxonomy.closest(value, i, path)
            elsewhere = [lv for lv in taxonomy.level_of(value) if lv != i]
            if elsewhere:
                raise _Reject("wrong_level", f"{level}={value!r} is a level-L{elsewhere[0]} label, not an {level} label"
                              f" under {path_key(path) or 'the root'}",
                              f"put {value!r} in L{elsewhere[0]}; the closest {level} label here is {closest!r}")
            raise _Reject("unknown_label", f"unknown {level} label {value!r} under {path_key(path) or 'the root'}",
                          f"use a label from taxonomy.csv; closest valid label: {closest!r}")
        if value != raw:
            found.warn("label_stripped", f"{level}={raw!r} read as {value!r} (spaces around a label are ignored)")
        path.append(value)
    return tuple(path)


def check_keys(seg: dict, taxonomy: Taxonomy, found: _Comment) -> None:
    """A level key beyond the taxonomy's depth is an error (data and taxonomy disagree); other unknown keys are
    dropped, counted and named."""
    known = {"content", "emotion", *taxonomy.levels}
    for key in seg:
        if key in known:
            continue
        level = _LEVEL_KEY.fullmatch(str(key))
        if level and int(level.group(1)) > taxonomy.depth:
            raise _Reject("extra_level", f"segment has a {key} label but the taxonomy has {taxonomy.depth} levels "
                          f"({', '.join(taxonomy.levels)})", f"add an L{level.group(1)} column to taxonomy.csv, or "
                          f"remove {key} from the segments; the data and the taxonomy must have the same depth")
        found.warn("unknown_segment_key", f"unknown segment key {key!r} dropped (known: "
                   f"{', '.join(['content', *taxonomy.levels, 'emotion'])})")


def check_emotion(seg: dict, found: _Comment) -> str:
    emotion = seg.get("emotion")
    folded = emotion.strip().casefold() if isinstance(emotion, str) else None
    if folded not in EMOTIONS:
        raise _Reject("bad_emotion", f"emotion {emotion!r} is not one of {list(EMOTIONS)}",
                      f"use one of {', '.join(EMOTIONS)}")
    if folded != emotion:
        found.warn("emotion_normalised", f"emotion {emotion!r} read as {folded!r}")
    return folded


def check_segment(seg: object, text: str, taxonomy: Taxonomy, found: _Comment,
                  threshold: float = DEFAULT_THRESHOLD) -> tuple[dict, Span]:
    """The canonical segment and where its content sits in `text` (the segment is kept whatever the outcome)."""
    if not isinstance(seg, dict):
        raise _Reject("bad_segment", f"segment {seg!r:.60} is not an object", "write each segment as a JSON object")
    check_keys(seg, taxonomy, found)
    path = check_label_path(seg, taxonomy, found)
    emotion = check_emotion(seg, found)
    content = seg.get("content")
    if not isinstance(content, str) or not content.strip():
        raise _Reject("missing_content", "segment has no content", "copy the segment's words from the comment text")
    span = locate(content, text, threshold)
    return {"content": content, **dict(zip(taxonomy.levels, path, strict=True)), "emotion": emotion}, span


def truncate(text: str, checked: list[tuple[dict, Span]], max_chars: int, found: _Comment) -> tuple[str, list]:
    """Cut an over-long comment to `max_chars`. A segment survives only if its located span ends inside the cut
    (a span that was not found cannot be placed, so it is cut too); cuts are counted. A labelled comment that
    would keep no segment is rejected: it must never become a "nothing to report" example."""
    if len(text) <= max_chars:
        return text, checked
    kept = [(s, span) for s, span in checked if span.end is not None and span.end <= max_chars]
    if checked and not kept:
        first = min((span.end for _, span in checked if span.end is not None), default=len(text))
        raise _Reject("all_segments_truncated", f"all {len(checked)} segments lie past prepare.max_chars={max_chars}"
                      f" (the text has {len(text)} characters)",
                      f"raise prepare.max_chars to at least {first}, or split the comment into shorter ones")
    found.warnings["truncated"] += 1
    found.warnings["segments_cut_by_truncation"] += len(checked) - len(kept)
    return text[:max_chars], kept


def check_comment(obj: object, taxonomy: Taxonomy, seen: set[str], strict: bool, max_chars: int,
                  found: _Comment, threshold: float = DEFAULT_THRESHOLD) -> dict:
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
        found.warnings["no_segments"] += 1
    checked = [check_segment(s, text, taxonomy, found, threshold) for s in segs]
    text, checked = truncate(text, checked, max_chars, found)
    for i, (seg, span) in enumerate(checked, start=1):
        found.warnings[f"content_{span.outcome}"] += 1
        if span.outcome != "verbatim":
            where = f"at {span.start}:{span.end}, score {span.score}" if span.end is not None else "anywhere"
            found.notes.append((f"content_{span.outcome}", f"comment {cid!r} segment {i}: content "
                                f"{seg['content']!r:.80} is not a verbatim span ({span.outcome} {where}); kept"))
    seen.add(cid)
    return {"id": cid, "text": text, "segments": [seg for seg, _ in checked]}


def _note(result: LoadResult, path: Path, lineno: int, found: _Comment, shown: Counter) -> None:
    result.warnings.update(found.warnings)
    for kind, message in found.notes:
        result.notes.append(f"{path}:{lineno}: {message}")
        shown[kind] += 1
        if shown[kind] <= LOG_LIMIT:
            log.warning("%s", result.notes[-1])


def load_comments(path: str | Path, taxonomy: Taxonomy, strict: bool = True, max_chars: int = 2000,
                  threshold: float = DEFAULT_THRESHOLD) -> LoadResult:
    """Validate every line of a comments.jsonl against the taxonomy (lines read by `voc.core.files.jsonl_lines`)."""
    path = Path(path)
    result, seen, shown = LoadResult(), set(), Counter()
    for lineno, line, value in jsonl_lines(path):
        result.read += 1
        found = _Comment()
        try:
            if isinstance(value, BadLine):
                raise _Reject(value.reason, value.problem, value.fix)
            result.accepted.append(check_comment(value, taxonomy, seen, strict, max_chars, found, threshold))
            _note(result, path, lineno, found, shown)
        except _Reject as r:
            if strict:
                raise CommentError(str(path), lineno, r.problem, r.fix) from None
            result.rejects.append({"file": str(path), "line": lineno, "reason": r.reason, "problem": r.problem,
                                   "fix": r.fix, "raw": line[:500]})
    for kind, n in sorted(shown.items()):
        if n > LOG_LIMIT:
            log.warning("%s: %d more %s warnings (all counted in the metrics)", path, n - LOG_LIMIT, kind)
    return result


def leaf_counts(records: Sequence[dict], levels: Sequence[str]) -> dict[str, int]:
    """Frequency of every leaf path, most common first (drives the long-tail buckets and plot)."""
    counts: Counter = Counter()
    for r in records:
        for s in r["segments"]:
            counts[path_key([s[lv] for lv in levels])] += 1
    return dict(counts.most_common())
