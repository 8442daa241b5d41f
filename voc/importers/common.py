"""Shared pieces of every importer: the result object, per-row failures, label checks and the one writer.

Importers are pure: they read their inputs and return an `ImportResult`. Every source row ends up either in
`comments` or in `failures` (with a reason code), so `converted + failed == read` always holds. What is kept
but not as written (content not a verbatim span, a missing prompt marker, a leaf's minority description) is
counted in the report and listed, with file:line, in `warnings`.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from voc.core.files import write_json, write_jsonl
from voc.core.taxonomy import MAX_LEVELS, SEP, Path_, Taxonomy, path_key, write_taxonomy
from voc.data.spans import DEFAULT_THRESHOLD, locate

EMOTIONS = ("positive", "negative", "neutral")
RAW_LIMIT = 500
ACRONYMS = frozenset({"OS", "CPU", "GPU", "USB", "RAM", "SSD", "HDD", "DVD", "CD", "TV", "LCD", "LED", "PC", "WIFI"})
# Counts every report carries (0 when a format cannot produce them), so reports of all formats compare.
COUNTS = ("content_verbatim", "content_relaxed", "content_fuzzy", "content_not_found", "marker_missing",
          "leaf_descriptions_conflicting", "duplicate_segments_merged")


class RowError(Exception):
    """One source row cannot be converted: `reason` is a short code counted in the report."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail


def truncate(raw: str, limit: int = RAW_LIMIT) -> str:
    """Keep failure lines small even when a source row is huge."""
    return raw if len(raw) <= limit else raw[:limit] + "…"


@dataclass
class ImportResult:
    """What an importer produced: canonical comments, the taxonomy, and one failure per unconverted row."""

    fmt: str
    taxonomy: Taxonomy
    comments: list[dict]
    failures: list[dict]
    read: int
    converted: int
    unit: str = "record"
    warnings: list[dict] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    level_keys: dict[str, dict] = field(default_factory=dict)
    fuzzy_threshold: float = DEFAULT_THRESHOLD

    def report(self) -> dict:
        reasons = Counter(f["reason"] for f in self.failures)
        return {"format": self.fmt, "unit": self.unit, "read": self.read, "converted": self.converted,
                "failed": len(self.failures), "failed_by_reason": dict(sorted(reasons.items())),
                "comments": len(self.comments), "segments": sum(len(c["segments"]) for c in self.comments),
                "leaves": len(self.taxonomy.leaves), "fuzzy_threshold": self.fuzzy_threshold, **self.counts,
                "level_keys": self.level_keys, "warnings": len(self.warnings)}


def readable(name: str) -> str:
    """`HARD_DISC` -> `Hard disc`, `FANS&COOLING` -> `Fans & cooling`: deterministic, keeps known acronyms."""
    words = re.sub(r"\s*&\s*", " & ", name.replace(SEP, "-")).replace("_", " ").split()
    out = []
    for i, word in enumerate(words):
        if word.upper() in ACRONYMS:
            out.append(word.upper())
        else:
            out.append(word.capitalize() if i == 0 else word.lower())
    return " ".join(out)


def slug(name: str) -> str:
    """A lower-case id fragment: `Laptop` -> `laptop`, `My file` -> `my-file`."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "x"


def claim_prefix(prefixes: dict[str, Path], domain: str, split: str, path: Path, fix: str) -> str:
    """Id prefix `<domain>-<split>` for one input file; two files mapping to the same prefix would clash."""
    from voc.core.errors import CommentError

    prefix = f"{slug(domain)}-{split}"
    if prefix in prefixes:
        raise CommentError(str(path), None, f"ids {prefix}-* would clash with {prefixes[prefix]}", fix)
    prefixes[prefix] = path
    return prefix


def split_leaf(value: str) -> tuple[str, str]:
    """`"Night vision: image quality in the dark"` -> (`Night vision`, `image quality in the dark`)."""
    label, sep, desc = value.partition(": ")
    return (label.strip(), desc.strip()) if sep else (value.strip(), "")


class Collector:
    """Checks converted comments against shared rules and builds the taxonomy from them (or validates them).

    Rules: unique id, non-empty text and content, one known emotion, one consistent depth, labels without '/',
    and (when a taxonomy is given) every path a leaf of it. A content that is not a verbatim span of the text
    does not fail the row: annotators edit what they copy, and losing the comment (with its good segments)
    costs more than a located or ungrounded span. It is located leniently (voc.data.spans), counted and warned.
    """

    def __init__(self, fmt: str, taxonomy: Taxonomy | None = None, unit: str = "record",
                 threshold: float = DEFAULT_THRESHOLD) -> None:
        self.fmt, self.given, self.unit, self.threshold = fmt, taxonomy, unit, threshold
        self.depth = taxonomy.depth if taxonomy else None
        self.comments: list[dict] = []
        self.failures: list[dict] = []
        self.warnings: list[dict] = []
        self.counts: Counter = Counter(dict.fromkeys(COUNTS, 0))
        self.level_keys: dict[str, dict] = {}
        # leaf -> description -> [segments carrying it, source, line of the first]
        self.descriptions: dict[Path_, dict[str, list]] = {}
        self.ids: set[str] = set()
        self.read = 0
        self.converted = 0

    def fail(self, source: str | Path, line: int, err: RowError, raw: str) -> None:
        self.failures.append({"source": str(source), "line": line, "reason": err.reason, "detail": err.detail,
                              "raw": truncate(raw)})

    def warn(self, source: str | Path, line: int, kind: str, detail: str) -> None:
        """Record something kept but not as written; counts are kept by the caller."""
        self.warnings.append({"source": str(source), "line": line, "kind": kind, "detail": detail})

    def check(self, comment: dict) -> None:
        """Raise RowError if the comment breaks a rule; nothing is stored."""
        if comment["id"] in self.ids:
            raise RowError("duplicate_id", f"id {comment['id']!r} was already used by an earlier row")
        text = comment["text"]
        if not isinstance(text, str) or not text.strip():
            raise RowError("empty_text", "the comment text is empty")
        depth = self.depth
        for seg in comment["segments"]:
            path = self._path(seg)
            depth = depth or len(path)
            if len(path) != depth:
                raise RowError("depth_mismatch", f"label path {path_key(path)} has {len(path)} levels, "
                                                 f"expected {depth}")
            self.check_segment(seg)

    def add(self, comment: dict, descriptions: Iterable[tuple[Path_, str]] = (), units: int = 1,
            source: str | Path = "", lines: int | Sequence[int] = 0) -> None:
        """Check and store one comment; `units` source rows count as converted.

        `descriptions` holds one (leaf, description) per segment that carried one; `lines` is the source line of
        the comment, or one per segment (CSV), for the warnings.
        """
        self.check(comment)
        segments = comment["segments"]
        where = [lines] * len(segments) if isinstance(lines, int) else list(lines)
        for seg, line in zip(segments, where, strict=True):
            self.depth = self.depth or len(self._path(seg))
            self._locate(seg["content"], comment["text"], source, line)
        first = where[0] if where else 0
        for leaf, desc in descriptions:
            if desc:
                self.descriptions.setdefault(leaf, {}).setdefault(desc, [0, str(source), first])[0] += 1
        self.ids.add(comment["id"])
        self.comments.append(comment)
        self.converted += units

    def _locate(self, content: str, text: str, source: str | Path, line: int) -> None:
        span = locate(content, text, self.threshold)
        self.counts[f"content_{span.outcome}"] += 1
        if span.outcome == "verbatim":
            return
        if span.outcome == "not_found":
            found = f"no span of the text matches it at the fuzzy threshold {self.threshold}"
        else:
            found = f"it matches {text[span.start:span.end]!r} (similarity {span.score})"
        self.warn(source, line, f"content_{span.outcome}", f"segment content {content!r} is not a verbatim span "
                  f"of the text; {found}; kept with the annotator's content")

    @staticmethod
    def _path(seg: dict) -> Path_:
        return tuple(seg[f"L{i}"] for i in range(1, MAX_LEVELS + 2) if f"L{i}" in seg)

    def check_segment(self, seg: dict) -> None:
        """Raise RowError if one segment breaks a rule (used per row by the CSV importer)."""
        path = self._path(seg)
        content = seg.get("content")
        if not isinstance(content, str) or not content.strip():
            raise RowError("empty_content", "a segment has no content")
        if seg.get("emotion") not in EMOTIONS:
            raise RowError("unknown_emotion", f"emotion {seg.get('emotion')!r} is not one of {list(EMOTIONS)}")
        if not 1 <= len(path) <= MAX_LEVELS:
            raise RowError("bad_depth", f"label path has {len(path)} levels; voc supports 1 to {MAX_LEVELS}")
        if any(not isinstance(n, str) or not n.strip() or n != n.strip() or SEP in n for n in path):
            raise RowError("bad_label", f"label path {list(path)} has an empty, padded or '{SEP}'-containing label")
        if self.given and path not in self.given.leaves:
            raise RowError("unknown_label", self._unknown(path))

    def _unknown(self, path: Path_) -> str:
        assert self.given is not None
        for i in range(1, len(path) + 1):
            if not self.given.has_path(path[:i]):
                closest = self.given.closest(path[i - 1], i, path[: i - 1])
                return (f"label path {path_key(path)} is not in the taxonomy: L{i} {path[i - 1]!r} is unknown "
                        f"(closest: {closest!r})")
        return f"label path {path_key(path)} is not a leaf of the taxonomy"

    def result(self) -> ImportResult:
        counts, warnings = dict(self.counts), list(self.warnings)
        if self.given:
            taxonomy = self.given  # descriptions in the data are not used, so they cannot conflict
        else:
            descriptions, conflicts = most_frequent(self.descriptions)
            counts["leaf_descriptions_conflicting"] = sum(w.pop("segments") for w in conflicts)
            warnings += conflicts
            taxonomy = self._build_taxonomy(descriptions)
        return ImportResult(self.fmt, taxonomy, self.comments, self.failures, self.read, self.converted,
                            self.unit, warnings, counts, dict(self.level_keys), self.threshold)

    def _build_taxonomy(self, found: dict[Path_, str]) -> Taxonomy:
        leaves = sorted({self._path(s) for c in self.comments for s in c["segments"]})
        depth = self.depth or 1
        descriptions = {leaf: found.get(leaf) or " > ".join(leaf) + " (from data)" for leaf in leaves}
        return Taxonomy(levels=tuple(f"L{i}" for i in range(1, depth + 1)), leaves=tuple(leaves),
                        descriptions=descriptions)


def most_frequent(seen: dict[Path_, dict[str, list]]) -> tuple[dict[Path_, str], list[dict]]:
    """Each leaf's most frequent description (the first seen on a tie), and one warning per one left out.

    Why the most frequent: one annotator's variant should not define the leaf for everyone else.
    """
    chosen: dict[Path_, str] = {}
    conflicts: list[dict] = []
    for leaf, variants in seen.items():
        kept = max(variants, key=lambda d: variants[d][0])
        chosen[leaf] = kept
        for desc, (n, source, line) in variants.items():
            if desc != kept:
                conflicts.append({"source": source, "line": line, "kind": "leaf_descriptions_conflicting",
                                  "detail": f"leaf {path_key(leaf)} has description {desc!r} on {n} segment(s) "
                                            f"(first here); kept {kept!r} ({variants[kept][0]} segments)",
                                  "segments": n})
    return chosen, conflicts


def write_import(result: ImportResult, out_dir: str | Path) -> dict:
    """Write taxonomy.csv, comments.jsonl, import_report.json, failures.jsonl, warnings.jsonl (each atomically)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_taxonomy(out / "taxonomy.csv", result.taxonomy)
    write_jsonl(out / "comments.jsonl", result.comments)
    write_jsonl(out / "failures.jsonl", result.failures)
    write_jsonl(out / "warnings.jsonl", result.warnings)
    report = result.report()
    write_json(out / "import_report.json", report)
    return report


def raw_json(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False)
