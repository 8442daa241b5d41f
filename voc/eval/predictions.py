"""VOC evaluation: generate classifications for the test split, parse them robustly, keep every raw output.

Scoring itself lives in `voc.eval.scoring.metrics`; this module only turns a model + test records into prediction rows.
Each raw output is parsed here once (`parse_row`), for every reader: the eval stage's rows, `voc classify`, and
both scorers (our lenient segments and the Nova-rule values travel in the row).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from voc.core.stats import percentile
from voc.core.taxonomy import Taxonomy
from voc.eval.parsing import norm_text, normalize_labels, parse_output
from voc.eval.scoring.nova import NOVA_FIELD, nova_values
from voc.train.examples import answer_token_lengths

log = logging.getLogger("voc.eval.predictions")


@dataclass(frozen=True)
class ParsedRow:
    """Everything read from one raw output: the lenient parse with labels normalized to the taxonomy, how it
    parsed, and the published Nova scorer's values per level (its literal rules, kept apart from ours)."""

    segments: list[dict]
    status: str
    json_valid: bool
    schema_complete: bool
    labels_case_fixed: int
    nova: dict[str, list[str]]


def parse_row(raw: str, taxonomy: Taxonomy) -> ParsedRow:
    """Parse one raw output, once, into the fields every reader of a prediction needs (never raises)."""
    parsed = parse_output(raw, taxonomy.levels)
    segments, fixed_case = normalize_labels(parsed.segments, taxonomy)
    return ParsedRow(segments, parsed.status, parsed.json_valid, parsed.schema_complete, fixed_case,
                     nova_values(raw, segments, taxonomy.levels))


def answer_budget(records: Sequence[dict], tokenizer, max_new_tokens: int) -> dict:
    """p99 token length of the gold answers (end-of-turn included, as generation must emit it to stop); warns
    when `eval.max_new_tokens` is below it, since outputs cut there lose segments and score low."""
    p99 = percentile(answer_token_lengths(records, tokenizer), 0.99)
    if max_new_tokens < p99:
        log.warning("eval.max_new_tokens is %d, below the p99 length of the %d gold answers (%d tokens): longer "
                    "outputs will be cut. Fix: set eval.max_new_tokens: %d in params.yaml", max_new_tokens,
                    len(records), p99, p99)
    return {"gold_answer_tokens_p99": p99}


def prediction_rows(records: Sequence[dict], outputs: Sequence[str], taxonomy: Taxonomy,
                    hits: Sequence[bool] | None = None) -> list[dict]:
    """One row per test comment: gold, parsed prediction, raw output, parse status and the Nova-rule values
    (never raises); with `hits`, whether the output hit eval.max_new_tokens."""
    rows = []
    for i, (rec, raw) in enumerate(zip(records, outputs, strict=True)):
        p = parse_row(raw, taxonomy)
        rows.append({"id": rec["id"], "text": rec["text"], "gold": rec["segments"], "pred": p.segments, "raw": raw,
                     "status": p.status, "json_valid": p.json_valid, "schema_complete": p.schema_complete,
                     "labels_case_fixed": p.labels_case_fixed, NOVA_FIELD: p.nova})
        if hits is not None:
            rows[-1]["hit_max_new_tokens"] = bool(hits[i])
    return rows


def repeated_segments(segments: Sequence[dict], levels: Sequence[str]) -> int:
    """How many segments of one output repeat an earlier one: the same label path and the same content, up to
    case and whitespace. A model caught in a loop writes one segment again and again until the token limit; a
    set-based score hides that (the copies collapse into one label), so it is counted."""
    seen: set[tuple[str, ...]] = set()
    repeats = 0
    for seg in segments:
        key = tuple(norm_text(seg.get(k, "")) for k in (*levels, "content"))
        repeats += key in seen
        seen.add(key)
    return repeats


def degeneration_counts(rows: Sequence[dict], levels: Sequence[str]) -> dict:
    """Degenerate outputs among prediction rows: those that repeat a segment (`repeated_segments` > 0) and those
    cut by `eval.max_new_tokens` (the rows' `hit_max_new_tokens` flags), each as a count and a share of rows."""
    n = max(len(rows), 1)
    repeated = sum(repeated_segments(row.get("pred") or [], levels) > 0 for row in rows)
    hits = sum(bool(row.get("hit_max_new_tokens")) for row in rows)
    return {"repeated_segment_outputs": repeated, "repeated_segment_rate": round(repeated / n, 4),
            "hit_max_new_tokens": hits, "hit_max_new_tokens_rate": round(hits / n, 4)}
