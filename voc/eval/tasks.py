"""The task suite's multiple-choice tasks scored by log-likelihood (acc, and lm-eval's length-normalised acc_norm)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from voc.assets.tasks import TASKS
from voc.core.files import read_jsonl
from voc.model.loglik import loglikelihoods


def requests_for(row: dict) -> list[tuple[str, str]]:
    """One (context, continuation) per choice; Winogrande rows vary the context instead of the continuation."""
    if "contexts" in row:
        return [(c, row["continuation"]) for c in row["contexts"]]
    return [(row["context"], c) for c in row["choices"]]


def _choice_bytes(row: dict) -> list[int]:
    """Length in UTF-8 bytes of each choice text, without the leading target-delimiter space."""
    conts = [row["continuation"]] * len(row["contexts"]) if "contexts" in row else row["choices"]
    return [max(1, len(c.removeprefix(" ").encode("utf-8"))) for c in conts]


def predict_task(model, tok, rows: Sequence[dict], batch_size: int = 16) -> tuple[list[int], list[int]]:
    """Per row, the choice of highest log-likelihood and of highest log-likelihood per byte: all the model work of
    `evaluate_task`, which benchmarks/micro/lmeval.py compares with lm-eval item by item."""
    per_row = [requests_for(r) for r in rows]
    flat = [q for reqs in per_row for q in reqs]
    # one group per item: its choices share the context (Winogrande: the sentence up to the blank), encoded once
    groups = [n for n, reqs in enumerate(per_row) for _ in reqs]
    scores = loglikelihoods(model, tok, flat, batch_size=batch_size, desc="tasks", groups=groups)
    preds, preds_norm, at = [], [], 0
    for row, reqs in zip(rows, per_row, strict=True):
        ll = np.array([s for s, _ in scores[at:at + len(reqs)]])
        at += len(reqs)
        preds.append(int(np.argmax(ll)))
        preds_norm.append(int(np.argmax(ll / np.array(_choice_bytes(row)))))
    return preds, preds_norm


def evaluate_task(model, tok, rows: Sequence[dict], limit: int | None = None, batch_size: int = 16) -> dict:
    """acc = argmax log-likelihood is gold; acc_norm = the same after dividing by each choice's byte length."""
    rows = list(rows)[:limit] if limit is not None else list(rows)
    if not rows:
        raise ValueError("no rows to evaluate")
    preds, preds_norm = predict_task(model, tok, rows, batch_size)
    gold = [r["gold"] for r in rows]
    return {"acc": float(np.mean(np.equal(preds, gold))), "acc_norm": float(np.mean(np.equal(preds_norm, gold))),
            "n": len(rows)}


def evaluate_tasks(model, tok, data_dir: str | Path, tasks: Sequence[str], limit: int | None = None,
                   batch_size: int = 16) -> dict:
    """Scores keyed `<task>.<split>` plus `mean`: over tasks, of each task's headline metric (its registry entry)."""
    data_dir = Path(data_dir)
    out: dict = {}
    headline = []
    for task in tasks:
        files = sorted(data_dir.glob(f"{task}.*.jsonl"))
        if len(files) != 1:
            raise FileNotFoundError(f"{data_dir}: expected one {task}.<split>.jsonl, found {[f.name for f in files]}")
        res = evaluate_task(model, tok, read_jsonl(files[0]), limit, batch_size)
        if TASKS[task].metric == "acc":  # lm-eval reports acc only for these
            res.pop("acc_norm")
        out[files[0].name.removesuffix(".jsonl")] = res
        headline.append(res[TASKS[task].metric])
    out["mean"] = float(np.mean(headline)) if headline else None
    return out
