"""Shared pieces of every importer: the result object, per-row failures, label checks and the one writer.

Importers are pure: they read their inputs and return an `ImportResult`. Every source row ends up either in
`comments` or in `failures` (with a reason code), so `converted + failed == read` always holds.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from voc.io import write_json, write_jsonl
from voc.taxonomy import MAX_LEVELS, SEP, Path_, Taxonomy, path_key, write_taxonomy

EMOTIONS = ("positive", "negative", "neutral")
RAW_LIMIT = 500
ACRONYMS = frozenset({"OS", "CPU", "GPU", "USB", "RAM", "SSD", "HDD", "DVD", "CD", "TV", "LCD", "LED", "PC", "WIFI"})


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

    def report(self) -> dict:
        reasons = Counter(f["reason"] for f in self.failures)
        return {"format": self.fmt, "unit": self.unit, "read": self.read, "converted": self.converted,
                "failed": len(self.failures), "failed_by_reason": dict(sorted(reasons.items())),
                "comments": len(self.comments), "segments": sum(len(c["segments"]) for c in self.comments),
                "leaves": len(self.taxonomy.leaves)}


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
    from voc.errors import CommentError

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

    Rules: unique id, non-empty text, each content a verbatim span, one known emotion, one consistent
    depth, labels without '/', and (when a taxonomy is given) every path a leaf of it.
    """

    def __init__(self, fmt: str, taxonomy: Taxonomy | None = None, unit: str = "record") -> None:
        self.fmt, self.given, self.unit = fmt, taxonomy, unit
        self.depth = taxonomy.depth if taxonomy else None
        self.comments: list[dict] = []
        self.failures: list[dict] = []
        self.descriptions: dict[Path_, str] = {}
        self.ids: set[str] = set()
        self.read = 0
        self.converted = 0

    def fail(self, source: str | Path, line: int, err: RowError, raw: str) -> None:
        self.failures.append({"source": str(source), "line": line, "reason": err.reason, "detail": err.detail,
                              "raw": truncate(raw)})

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
            self.check_segment(seg, text)

    def add(self, comment: dict, descriptions: dict[Path_, str] | None = None, units: int = 1) -> None:
        """Check and store one comment; `units` source rows count as converted."""
        self.check(comment)
        for seg in comment["segments"]:
            self.depth = self.depth or len(self._path(seg))
        for leaf, desc in (descriptions or {}).items():
            if desc:
                self.descriptions.setdefault(leaf, desc)
        self.ids.add(comment["id"])
        self.comments.append(comment)
        self.converted += units

    @staticmethod
    def _path(seg: dict) -> Path_:
        return tuple(seg[f"L{i}"] for i in range(1, MAX_LEVELS + 2) if f"L{i}" in seg)

    def check_segment(self, seg: dict, text: str) -> None:
        """Raise RowError if one segment breaks a rule (used per row by the CSV importer)."""
        path = self._path(seg)
        content = seg.get("content")
        if not isinstance(content, str) or not content.strip():
            raise RowError("empty_content", "a segment has no content")
        if content not in text:
            raise RowError("content_not_in_text", f"segment content {content!r} is not a verbatim span of the text")
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
        return ImportResult(self.fmt, self.given or self._build_taxonomy(), self.comments, self.failures,
                            self.read, self.converted, self.unit)

    def _build_taxonomy(self) -> Taxonomy:
        leaves = sorted({self._path(s) for c in self.comments for s in c["segments"]})
        depth = self.depth or 1
        descriptions = {leaf: self.descriptions.get(leaf) or " > ".join(leaf) + " (from data)" for leaf in leaves}
        return Taxonomy(levels=tuple(f"L{i}" for i in range(1, depth + 1)), leaves=tuple(leaves),
                        descriptions=descriptions)


def write_import(result: ImportResult, out_dir: str | Path) -> dict:
    """Write taxonomy.csv, comments.jsonl, import_report.json and failures.jsonl (each atomically)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_taxonomy(out / "taxonomy.csv", result.taxonomy)
    write_jsonl(out / "comments.jsonl", result.comments)
    write_jsonl(out / "failures.jsonl", result.failures)
    report = result.report()
    write_json(out / "import_report.json", report)
    return report


def raw_json(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False)
