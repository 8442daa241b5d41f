"""MMLU scored the lm-eval-harness way: log-likelihood of " A".." D" after the standard prompt; the accuracy carries
lm-eval's standard error and a Wilson 95 % interval, and the per-question outcomes go to the stage's details."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from voc.core.stats import proportion_fields
from voc.model.loglik import loglikelihoods

LETTERS = "ABCD"


def _question(row: dict) -> str:
    lines = [row["question"].strip()] + [f"{LETTERS[i]}. {c}" for i, c in enumerate(row["choices"])]
    return "\n".join(lines) + "\nAnswer:"


def format_prompt(row: dict, dev_rows: Sequence[dict], k: int = 0) -> str:
    """Header, the first `k` dev examples of the row's subject (answered), then the question up to 'Answer:'."""
    subject = row["subject"]
    header = f"The following are multiple choice questions (with answers) about {subject.replace('_', ' ')}.\n\n"
    shots = [d for d in dev_rows if d["subject"] == subject][:k] if k else []
    if len(shots) < k:
        raise ValueError(f"{subject}: asked for {k} shots but the dev split has only {len(shots)}")
    examples = "".join(f"{_question(d)} {LETTERS[d['answer']]}\n\n" for d in shots)
    return header + examples + _question(row)


def limit_rows(rows: Sequence[dict], limit_per_subject: int | None) -> list[dict]:
    """The first `limit_per_subject` rows of each subject, in file order (deterministic)."""
    if limit_per_subject is None:
        return list(rows)
    seen: dict[str, int] = defaultdict(int)
    kept = []
    for r in rows:
        if seen[r["subject"]] < limit_per_subject:
            seen[r["subject"]] += 1
            kept.append(r)
    return kept


def predict_mmlu(model, tok, rows: Sequence[dict], dev_rows: Sequence[dict], k_shot: int = 0,
                 batch_size: int = 16) -> list[int]:
    """The highest-likelihood letter (0-3) of each row: all the model work of `evaluate_mmlu`, which
    benchmarks/micro/lmeval.py compares with lm-eval question by question."""
    requests = [(format_prompt(r, dev_rows, k_shot), f" {letter}") for r in rows for letter in LETTERS]
    # one group per subject: its header and k shots are encoded once (KV cache) for all its questions
    groups = [r["subject"] for r in rows for _ in LETTERS]
    scores = loglikelihoods(model, tok, requests, batch_size=batch_size, desc="mmlu", groups=groups)
    return [max(range(4), key=lambda j, i=i: scores[4 * i + j][0]) for i in range(len(rows))]


def evaluate_mmlu(model, tok, test_rows: Sequence[dict], dev_rows: Sequence[dict], k_shot: int = 0,
                  limit_per_subject: int | None = None, batch_size: int = 16) -> tuple[dict, list[dict]]:
    """(metrics, items): micro accuracy with lm-eval's stderr and a Wilson interval, macro (mean over subjects)
    accuracy, and the chance rate; items are the per-question outcomes `report` pairs base and SFT on."""
    rows = limit_rows(test_rows, limit_per_subject)
    if not rows:
        raise ValueError("no MMLU test rows to evaluate")
    preds = predict_mmlu(model, tok, rows, dev_rows, k_shot, batch_size)
    items = question_items(rows, preds)
    by_subject: dict[str, list[int]] = defaultdict(list)
    for item in items:
        by_subject[item["subject"]].append(item["correct"])
    # a list, not a mapping: `dvc exp show` skips lists, so 57 subjects don't become 114 columns beside the headline
    per_subject = [{"subject": s, "accuracy": sum(c) / len(c), "n": len(c)} for s, c in sorted(by_subject.items())]
    hits = sum(item["correct"] for item in items)
    metrics = {
        "accuracy": hits / len(items),
        **proportion_fields("accuracy", hits, len(items)),
        "chance": 1 / len(LETTERS),
        "macro_accuracy": sum(v["accuracy"] for v in per_subject) / len(per_subject),
        "n": len(rows),
        "k_shot": k_shot,
        "per_subject": per_subject,
    }
    return metrics, items


def question_items(rows: Sequence[dict], preds: Sequence[int]) -> list[dict]:
    """One outcome per question, id `<subject>/<k>` (its place among the subject's scored questions), so the
    same question has the same id in the base and the SFT run."""
    seen: dict[str, int] = defaultdict(int)
    items = []
    for row, pred in zip(rows, preds, strict=True):
        items.append({"id": f"{row['subject']}/{seen[row['subject']]}", "subject": row["subject"],
                      "gold": row["answer"], "pred": pred, "correct": int(pred == row["answer"])})
        seen[row["subject"]] += 1
    return items
