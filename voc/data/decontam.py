"""Keep held-out test items out of the training set.

Two checks, both on normalised text (NFKC, lowercase, punctuation and symbols removed, whitespace collapsed):

- exact: a training unit equals a test item, or contains it when the test item has at least
  `MIN_CONTAINED_WORDS` words (shorter items are too generic to count when merely contained);
- ngram: a training unit and a test item share any word n-gram (n = 13 by default), the test used by
  GPT-3 and lm-eval-harness' decontamination. Items shorter than n words can only be caught by `exact`.

A training unit is the content of one non-system message of a training row: the system prompt carries
the taxonomy, which is shared by every VOC row and is not data.
"""

from __future__ import annotations

import csv
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Literal

from voc.core.errors import VocError
from voc.core.files import atomic_path, write_json

MIN_CONTAINED_WORDS = 8
SNIPPET_CHARS = 160
SHOWN_HITS = 5


class ContaminationError(VocError):
    """Training rows overlap held-out test data and decontam.action is `fail`."""

    def __init__(self, hits: Sequence[Hit], rows: int, hits_path: str | None) -> None:
        self.hits, self.rows, self.hits_path = list(hits), rows, hits_path
        shown = "\n".join(
            f"  {h.train_id} ({h.train_source}) ~ {h.test_set}[{h.test_index}] {h.kind}: {h.overlap!r}"
            for h in self.hits[:SHOWN_HITS]
        )
        where = f"full list: {hits_path}" if hits_path else "full list: not written"
        super().__init__(
            f"{rows} training rows overlap held-out test data ({len(self.hits)} hits). First hits:\n{shown}\n"
            f"{where}. Fix: remove those items from the training sources, or set decontam.action: drop "
            "in params.yaml to drop the rows."
        )


@dataclass(frozen=True)
class Hit:
    """One training row that overlaps one test item."""

    train_id: str
    train_source: str
    test_set: str
    test_index: int
    kind: str  # "exact" | "ngram"
    overlap: str


class _StripTable(dict):
    """str.translate table mapping Unicode punctuation (P*) and symbols (S*) to a space, built lazily."""

    def __missing__(self, code: int) -> int | str:
        value: int | str = " " if unicodedata.category(chr(code))[0] in "PS" else code
        self[code] = value
        return value


_STRIP = _StripTable()


def normalize(text: str) -> str:
    """NFKC, lowercase, punctuation/symbols to spaces, whitespace collapsed: formatting can't hide a leak."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().translate(_STRIP).split())


def ngrams(words: Sequence[str], n: int) -> Iterator[str]:
    """Word n-grams, in order (none for fewer than n words)."""
    for i in range(len(words) - n + 1):
        yield " ".join(words[i : i + n])


def _contains(haystack: str, needle: str) -> bool:
    """Word-boundary containment of normalised strings."""
    return f" {needle} " in f" {haystack} "


class TestIndex:
    """Every test item indexed once, so checking the training set is linear in its size."""

    def __init__(self, test_sets: Mapping[str, Sequence[str]], n: int) -> None:
        if n < 1:
            raise ValueError(f"n-gram size must be >= 1, got {n}")
        self.n = n
        self.items: dict[tuple[str, int], str] = {}
        self.exact: dict[str, list[tuple[str, int]]] = defaultdict(list)
        self.prefix: dict[str, list[tuple[str, int]]] = defaultdict(list)
        # n-gram hash -> every test item holding it: a shared n-gram (a common question stem) counts for each.
        self.grams: dict[int, list[tuple[str, int]]] = defaultdict(list)
        for name, texts in test_sets.items():
            for i, text in enumerate(texts):
                self._add((name, i), normalize(text))

    def _add(self, key: tuple[str, int], norm: str) -> None:
        if not norm:
            return
        self.items[key] = norm
        self.exact[norm].append(key)
        words = norm.split()
        if len(words) >= MIN_CONTAINED_WORDS:
            self.prefix[" ".join(words[:MIN_CONTAINED_WORDS])].append(key)
        for gram in set(ngrams(words, self.n)):
            self.grams[hash(gram)].append(key)

    def exact_hits(self, unit: str) -> dict[tuple[str, int], str]:
        """Test items equal to the unit, or (if long enough) contained in it."""
        found = {key: self.items[key] for key in self.exact.get(unit, ())}
        words = unit.split()
        for start in ngrams(words, MIN_CONTAINED_WORDS):
            for key in self.prefix.get(start, ()):
                if key not in found and _contains(unit, self.items[key]):
                    found[key] = self.items[key]
        return found

    def ngram_hits(self, unit: str) -> dict[tuple[str, int], str]:
        """Test items sharing an n-gram with the unit; each hash hit is verified against the item's text."""
        found: dict[tuple[str, int], str] = {}
        for gram in ngrams(unit.split(), self.n):
            for key in self.grams.get(hash(gram), ()):
                if key not in found and _contains(self.items[key], gram):
                    found[key] = gram
        return found


def training_units(row: Mapping) -> list[str]:
    """The texts of a training row that the model learns from: every non-system message content."""
    return [str(m.get("content", "")) for m in row.get("messages", []) if m.get("role") != "system"]


def _snippet(text: str) -> str:
    return text if len(text) <= SNIPPET_CHARS else text[: SNIPPET_CHARS - 3] + "..."


def _row_hits(row: Mapping, index: TestIndex) -> list[Hit]:
    """All (test item, kind) overlaps of one row; an item caught exactly is not reported again as n-gram."""
    exact: dict[tuple[str, int], str] = {}
    ngram: dict[tuple[str, int], str] = {}
    for unit in map(normalize, training_units(row)):
        for key, text in index.exact_hits(unit).items():
            exact.setdefault(key, text)
        for key, gram in index.ngram_hits(unit).items():
            ngram.setdefault(key, gram)
    rid, source = str(row.get("id", "")), str(row.get("source", ""))
    hits = [Hit(rid, source, k[0], k[1], "exact", _snippet(t)) for k, t in exact.items()]
    hits += [Hit(rid, source, k[0], k[1], "ngram", _snippet(g)) for k, g in ngram.items() if k not in exact]
    return hits


def find_hits(train_rows: Iterable[Mapping], test_sets: Mapping[str, Sequence[str]], n: int) -> list[Hit]:
    """Every overlap between training rows and test items (exact first, then n-gram), in row order."""
    index = TestIndex(test_sets, n)
    return [hit for row in train_rows for hit in _row_hits(row, index)]


def write_hits_csv(dest: str | Path, hits: Iterable[Hit]) -> None:
    """One line per hit, with a header even when there are none (so DVC always has the file)."""
    with atomic_path(dest) as tmp, tmp.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([fld.name for fld in fields(Hit)])
        for hit in hits:
            writer.writerow(asdict(hit).values())


def build_report(
    rows: Sequence[Mapping], test_sets: Mapping[str, Sequence[str]], hits: Sequence[Hit], n: int, action: str
) -> dict:
    """Counts for metrics/decontam.json: hits per test set and kind, rows checked, rows dropped per source."""
    per_set: dict[str, dict[str, int]] = {name: {"exact": 0, "ngram": 0} for name in test_sets}
    for hit in hits:
        per_set[hit.test_set][hit.kind] += 1
    hit_ids = {h.train_id for h in hits}
    hit_rows = [r for r in rows if str(r.get("id", "")) in hit_ids]
    dropped = Counter(str(r.get("source", "")) for r in hit_rows) if action == "drop" else Counter()
    return {
        "action": action,
        "ngram": n,
        "rows_checked": len(rows),
        "rows_hit": len(hit_rows),
        "rows_dropped": sum(dropped.values()),
        "rows_dropped_per_source": dict(sorted(dropped.items())),
        "rows_kept": len(rows) - sum(dropped.values()),
        "test_items": {name: len(texts) for name, texts in test_sets.items()},
        "hits_total": len(hits),
        "hits": per_set,
    }


def decontaminate(
    train_rows: Iterable[Mapping],
    test_sets: Mapping[str, Sequence[str]],
    n: int,
    action: Literal["fail", "drop"],
    report_path: str | Path | None = None,
    hits_path: str | Path | None = None,
) -> tuple[list[dict], dict, list[Hit]]:
    """Check, report, then drop the hit rows or fail.

    The report and CSV (when paths are given) are written before failing, so the error can point at them.
    `action` is checked once, by the params schema.
    """
    rows = [dict(r) for r in train_rows]
    hits = find_hits(rows, test_sets, n)
    report = build_report(rows, test_sets, hits, n, action)
    if report_path is not None:
        write_json(report_path, report)
    if hits_path is not None:
        write_hits_csv(hits_path, hits)
    if hits and action == "fail":
        raise ContaminationError(hits, report["rows_hit"], str(hits_path) if hits_path else None)
    hit_ids = {h.train_id for h in hits}
    return [r for r in rows if str(r.get("id", "")) not in hit_ids], report, hits


def _shingles(norm: str, n: int) -> frozenset[str]:
    """Word n-gram shingles; a text shorter than n words is one shingle (so it only matches itself)."""
    words = norm.split()
    return frozenset(ngrams(words, n)) if len(words) >= n else frozenset([norm])


def split_overlap(
    train_texts: Sequence[str], test_texts: Sequence[str], n: int = 5, threshold: float = 0.8
) -> list[tuple[int, int, str]]:
    """Duplicate or near-duplicate comments across a train/test split, as (train_i, test_i, kind).

    kind is "exact" when the normalised texts are equal, "near" when the Jaccard similarity of their word
    n-gram shingle sets (n = 5) is >= threshold (0.8): e.g. the same comment with a word or two changed.
    Candidates come from an inverted shingle index, so only pairs sharing a shingle are compared.
    """
    test_norm = [normalize(t) for t in test_texts]
    test_sh = [_shingles(t, n) for t in test_norm]
    by_shingle: dict[str, list[int]] = defaultdict(list)
    for j, shingles in enumerate(test_sh):
        for s in shingles if test_norm[j] else ():
            by_shingle[s].append(j)
    out: list[tuple[int, int, str]] = []
    for i, text in enumerate(train_texts):
        norm = normalize(text)
        if not norm:
            continue
        shingles = _shingles(norm, n)
        shared = Counter(j for s in shingles for j in by_shingle.get(s, ()))
        for j, common in sorted(shared.items()):
            if norm == test_norm[j]:
                out.append((i, j, "exact"))
            elif common / (len(shingles) + len(test_sh[j]) - common) >= threshold:
                out.append((i, j, "near"))
    return out
