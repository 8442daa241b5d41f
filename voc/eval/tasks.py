"""The task suite's multiple-choice tasks scored by log-likelihood (acc, and lm-eval's length-normalised acc_norm),
each with lm-eval's standard error, a Wilson 95 % interval and its chance rate."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from voc.assets.tasks import TASKS
from voc.core.files import read_jsonl
from voc.core.stats import bootstrap_ci, mean_of_group_means, proportion_fields
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


def evaluate_task(model, tok, rows: Sequence[dict], limit: int | None = None,
                  batch_size: int = 16) -> tuple[dict, list[dict]]:
    """(metrics, items): acc = argmax log-likelihood is gold; acc_norm = the same after dividing by each choice's
    byte length; each with lm-eval's stderr and a Wilson interval; `chance` = the mean of 1 / choices over rows
    (ARC mixes 3- to 5-choice questions). Items are the per-row outcomes `report` pairs base and SFT on."""
    rows = list(rows)[:limit] if limit is not None else list(rows)
    if not rows:
        raise ValueError("no rows to evaluate")
    preds, preds_norm = predict_task(model, tok, rows, batch_size)
    items = [{"id": r["id"], "gold": r["gold"], "acc": int(p == r["gold"]), "acc_norm": int(q == r["gold"])}
             for r, p, q in zip(rows, preds, preds_norm, strict=True)]
    out: dict = {}
    for name in ("acc", "acc_norm"):
        hits = sum(item[name] for item in items)
        out.update({name: hits / len(rows), **proportion_fields(name, hits, len(rows))})
    out.update(n=len(rows), chance=float(np.mean([1 / len(requests_for(r)) for r in rows])))
    return out, items


def evaluate_tasks(model, tok, data_dir: str | Path, tasks: Sequence[str], limit: int | None = None,
                   batch_size: int = 16) -> tuple[dict, list[dict]]:
    """(metrics, items). Metrics keyed `<task>.<split>` plus `mean`: over tasks, of each task's headline metric
    (its registry entry), with a bootstrap interval over all rows (`mean_ci95`). Items: per row, its task,
    id and `correct` under that task's headline metric."""
    data_dir = Path(data_dir)
    out: dict = {}
    items: list[dict] = []
    headline = []
    for task in tasks:
        files = sorted(data_dir.glob(f"{task}.*.jsonl"))
        if len(files) != 1:
            raise FileNotFoundError(f"{data_dir}: expected one {task}.<split>.jsonl, found {[f.name for f in files]}")
        key, metric = files[0].name.removesuffix(".jsonl"), TASKS[task].metric
        res, rows = evaluate_task(model, tok, read_jsonl(files[0]), limit, batch_size)
        if metric == "acc":  # lm-eval reports acc only for these
            for field in ("acc_norm", "acc_norm_stderr", "acc_norm_ci95"):
                res.pop(field)
        out[key] = res
        headline.append(res[metric])
        items += [{"task": key, "id": r["id"], "correct": r[metric]} for r in rows]
    out["mean"] = float(np.mean(headline)) if headline else None
    if headline:
        lo, hi = bootstrap_ci(task_scores(items), mean_of_group_means(len(tasks)))
        out["mean_ci95"] = {"lo": lo, "hi": hi}
    return out, items


def task_scores(items: Sequence[dict]) -> np.ndarray:
    """Items as `[task number, correct]` rows (tasks numbered in first-seen order), for `mean_of_group_means`."""
    number = {task: i for i, task in enumerate(dict.fromkeys(item["task"] for item in items))}
    return np.array([[number[item["task"]], item["correct"]] for item in items], dtype=np.int64).reshape(-1, 2)
