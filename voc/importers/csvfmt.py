"""Segment-per-row CSV -> canonical inputs. Header: `comment_id,text,content,L1,...,Ln,emotion`.

Rows sharing a `comment_id` form one comment (same text on every row). A row with empty content, labels and
emotion stands for a comment without segments. If any row of a comment fails, every row of it fails (the
others with `comment_has_failed_row`), so no comment is imported with half its labels.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from voc.core.errors import CommentError
from voc.core.files import decode_user_file
from voc.core.taxonomy import MAX_LEVELS, Taxonomy
from voc.data.spans import DEFAULT_THRESHOLD
from voc.importers.common import Collector, ImportResult, RowError

Row = tuple[int, list[str]]


def parse_header(header: list[str], path: Path) -> int:
    """Return n, the number of label levels, or raise naming the expected header."""
    cols = [c.strip() for c in header]
    n = len(cols) - 4
    expected = ["comment_id", "text", "content", *(f"L{i}" for i in range(1, n + 1)), "emotion"]
    if not 1 <= n <= MAX_LEVELS or cols != expected:
        raise CommentError(str(path), 1, f"header {cols} is not comment_id,text,content,L1..Ln,emotion",
                           f"write the header comment_id,text,content,L1,...,Ln,emotion with 1 <= n <= {MAX_LEVELS}")
    return n


def read_rows(path: Path) -> tuple[int, list[Row]]:
    """The level count and the data rows with their first physical line number (blank lines skipped)."""
    text = decode_user_file(path, CommentError)  # a BOM is fine; a bad byte is named by its line
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        raise CommentError(str(path), 1, "the file is empty", "add a header and one row per segment")
    n = parse_header(header, path)
    rows, start = [], reader.line_num + 1
    for row in reader:
        if any(c.strip() for c in row):
            rows.append((start, row))
        start = reader.line_num + 1
    return n, rows


def parse_row(row: list[str], n: int) -> tuple[str, str, dict | None]:
    """`(comment_id, text, segment or None)`; None marks a comment without segments."""
    if len(row) != n + 4:
        raise RowError("bad_row", f"row has {len(row)} columns, the header has {n + 4} (quote commas in text)")
    cid, text, content, *labels, emotion = row
    if not cid.strip():
        raise RowError("missing_id", "comment_id is empty")
    if not content and not any(x.strip() for x in labels) and not emotion.strip():
        return cid.strip(), text, None
    seg = {"content": content, **{f"L{i}": v.strip() for i, v in enumerate(labels, start=1)},
           "emotion": emotion.strip().lower()}
    return cid.strip(), text, seg


def _group(col: Collector, rows: list[Row], n: int) -> dict[str, list[tuple[int, str, dict | None, RowError | None]]]:
    """Parse and check each row on its own, grouped by comment id in first-seen order."""
    groups: dict[str, list] = {}
    for lineno, row in rows:
        try:
            cid, text, seg = parse_row(row, n)
            if seg is not None:
                col.check_segment(seg)
            groups.setdefault(cid, []).append((lineno, text, seg, None))
        except RowError as e:
            groups.setdefault(row[0].strip() if row else "", []).append((lineno, "", None, e))
    return groups


def _raw(row: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(row)
    return buf.getvalue()


def _comment(cid: str, items: list) -> dict:
    texts = {text for _, text, _, _ in items}
    if len(texts) != 1:
        raise RowError("text_mismatch", f"rows of comment {cid!r} carry {len(texts)} different texts")
    return {"id": cid, "text": texts.pop(), "segments": [seg for _, _, seg, _ in items if seg is not None]}


def import_csv(paths: Sequence[str | Path], taxonomy: Taxonomy | None = None,
               fuzzy_threshold: float = DEFAULT_THRESHOLD) -> ImportResult:
    """Convert segment-per-row CSV files; counts are in rows (read, converted, failed)."""
    col = Collector("csv", taxonomy, unit="row", threshold=fuzzy_threshold)
    for path in map(Path, paths):
        n, rows = read_rows(path)
        col.read += len(rows)
        by_line = dict(rows)
        for cid, items in _group(col, rows, n).items():
            bad = next(((ln, e) for ln, _, _, e in items if e is not None), None)
            try:
                if bad:
                    raise RowError("comment_has_failed_row",
                                   f"row on line {bad[0]} of comment {cid!r} failed ({bad[1].reason})")
                lines = [lineno for lineno, _, seg, _ in items if seg is not None]
                col.add(_comment(cid, items), units=len(items), source=path, lines=lines)
            except RowError as shared:
                for lineno, _, _, own in items:
                    col.fail(path, lineno, own or shared, _raw(by_line[lineno]))
    return col.result()
