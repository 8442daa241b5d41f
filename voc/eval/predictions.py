"""VOC evaluation: generate classifications for the test split, parse them robustly, keep every raw output.

Scoring itself lives in `voc.eval.scoring.metrics`; this module only turns a model + test records into prediction rows.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from voc.core.taxonomy import Taxonomy
from voc.eval.parsing import normalize_labels, parse_output
from voc.train.examples import answer_token_lengths, percentile

log = logging.getLogger("voc.eval.predictions")


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
    """One row per test comment: gold, parsed prediction, raw output and parse status (never raises);
    with `hits`, whether the output hit eval.max_new_tokens."""
    rows = []
    for i, (rec, raw) in enumerate(zip(records, outputs, strict=True)):
        parsed = parse_output(raw, taxonomy.levels)
        segments, fixed_case = normalize_labels(parsed.segments, taxonomy)
        rows.append({"id": rec["id"], "text": rec["text"], "gold": rec["segments"], "pred": segments, "raw": raw,
                     "status": parsed.status, "json_valid": parsed.json_valid,
                     "schema_complete": parsed.schema_complete, "labels_case_fixed": fixed_case})
        if hits is not None:
            rows[-1]["hit_max_new_tokens"] = bool(hits[i])
    return rows
