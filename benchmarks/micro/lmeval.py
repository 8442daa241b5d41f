"""MMLU and the general tasks, ours (`voc.eval.mmlu.predict_mmlu`, `voc.eval.tasks.predict_task`) against
lm-evaluation-harness's HF backend, side by side in one process: same model object, same rows, same prompts.

lm-eval reads the rows through local task configs written to a temp folder (`dataset_path: json` + `data_files`,
no hub), built to reproduce lm-eval's own `mmlu_*`, `arc_easy` and `hellaswag` tasks over our prepared rows.
Needs the `bench` extra (`pip install -e .[bench]`).

    python -m benchmarks.micro.lmeval --model models/base --part mmlu --k-shot 0
    python -m benchmarks.micro.lmeval --model models/base --part mmlu --k-shot 5 --subjects 19
    python -m benchmarks.micro.lmeval --model models/base --part arc_easy --limit 300
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import click
import torch
import yaml

from benchmarks.micro.util import ROOT, load, machine
from voc.core.files import read_jsonl, write_jsonl
from voc.eval.mmlu import LETTERS, format_prompt, limit_rows, predict_mmlu
from voc.eval.tasks import predict_task, requests_for

MMLU_TEXT = ("{{question.strip()}}\nA. {{choices[0]}}\nB. {{choices[1]}}\nC. {{choices[2]}}\nD. {{choices[3]}}"
             "\nAnswer:")


def mmlu_rows(data: Path, per_subject: int, subjects: int | None,
              only: list[str] | None = None) -> tuple[list[dict], list[dict]]:
    """The first `per_subject` test rows of `subjects` subjects spread evenly over the sorted list (or of the
    subjects `only` names), and the dev rows (file order, so both sides take the same first k shots)."""
    test = limit_rows(read_jsonl(data / "test.jsonl"), per_subject)
    names = sorted({r["subject"] for r in test})
    if only:
        names = [n for n in names if n in only]
    elif subjects is not None and subjects < len(names):
        names = [names[round(i * len(names) / subjects)] for i in range(subjects)]
    keep = set(names)
    return [r for r in test if r["subject"] in keep], read_jsonl(data / "dev.jsonl")


def mmlu_configs(rows: list[dict], dev: list[dict], folder: Path) -> list[str]:
    """One lm-eval task per subject, as lm-eval's `mmlu_<subject>` (its `_default_template_yaml`) over our rows."""
    folder.mkdir(parents=True, exist_ok=True)
    by_subject: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_subject[r["subject"]].append(r)
    names = []
    for subject, test in by_subject.items():
        write_jsonl(folder / f"{subject}.test.jsonl", test)
        write_jsonl(folder / f"{subject}.dev.jsonl", [d for d in dev if d["subject"] == subject])
        config = {
            "task": f"voc_mmlu_{subject}", "dataset_path": "json", "dataset_name": None,
            "dataset_kwargs": {"data_files": {s: str(folder / f"{subject}.{s}.jsonl") for s in ("test", "dev")}},
            "test_split": "test", "fewshot_split": "dev", "fewshot_config": {"sampler": "first_n"},
            "output_type": "multiple_choice", "doc_to_text": MMLU_TEXT, "doc_to_choice": list(LETTERS),
            "doc_to_target": "answer", "metric_list": [{"metric": "acc"}],
            "description": f"The following are multiple choice questions (with answers) about "
                           f"{subject.replace('_', ' ')}.\n\n",
        }
        (folder / f"voc_mmlu_{subject}.yaml").write_text(yaml.safe_dump(config))
        names.append(config["task"])
    return names


def task_config(task: str, rows: list[dict], folder: Path) -> list[str]:
    """lm-eval's `arc_easy` / `hellaswag` over our prepared rows: the context as prompt, each choice without the
    leading space (lm-eval's target delimiter adds it back), so acc_norm divides by the same length lm-eval uses."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for n, r in enumerate(rows):
        if not all(c.startswith(" ") for c in r["choices"]):
            raise ValueError(f"{task} row {n}: every choice should start with the target-delimiter space")
        out.append({"context": r["context"], "choices": [c[1:] for c in r["choices"]], "gold": r["gold"]})
    write_jsonl(folder / f"{task}.jsonl", out)
    config = {"task": f"voc_{task}", "dataset_path": "json", "dataset_name": None,
              "dataset_kwargs": {"data_files": {"validation": str(folder / f"{task}.jsonl")}},
              "test_split": "validation", "output_type": "multiple_choice", "doc_to_text": "{{context}}",
              "doc_to_choice": "choices", "doc_to_target": "gold",
              "metric_list": [{"metric": "acc"}, {"metric": "acc_norm"}]}
    (folder / f"voc_{task}.yaml").write_text(yaml.safe_dump(config))
    return [config["task"]]


def run_lm_eval(model, tok, folder: Path, names: list[str], k_shot: int, batch_size: int) -> dict:
    """lm-eval's own run (HF backend on our loaded model): wall seconds, seconds inside its log-likelihood
    requests, and per task and doc (in doc order) the log-likelihood of every choice and the requests sent."""
    from lm_eval import simple_evaluate
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    lm = HFLM(pretrained=model, tokenizer=tok, batch_size=batch_size)
    inner = {"s": 0.0}
    real = lm.loglikelihood

    def timed(requests, *args, **kwargs):
        start = time.perf_counter()
        try:
            return real(requests, *args, **kwargs)
        finally:
            inner["s"] += time.perf_counter() - start

    lm.loglikelihood = timed
    start = time.perf_counter()
    out = simple_evaluate(model=lm, tasks=names, num_fewshot=k_shot, log_samples=True, bootstrap_iters=0,
                          task_manager=TaskManager(include_path=str(folder), include_defaults=False))
    wall = time.perf_counter() - start
    docs, sent = {}, {}
    for name in names:
        samples = sorted(out["samples"][name], key=lambda s: s["doc_id"])
        docs[name] = [[float(r[0]) for r in s["filtered_resps"]] for s in samples]
        sent[name] = [[tuple(a) for a in s["arguments"]] for s in samples]
    return {"wall": wall, "loglik": inner["s"], "docs": docs, "sent": sent}


def argmax(xs: list[float]) -> int:
    return max(range(len(xs)), key=xs.__getitem__)


def report(name: str, rows: list[dict], ours: Side, theirs: Side, want_sent: list[list[tuple[str, str]]]) -> None:
    """Agreement (requests sent, predictions), accuracies and the wall-clock ratios of one comparison."""
    n, gold = len(rows), [r.get("answer", r.get("gold")) for r in rows]
    print(f"\n== {name}: {n} questions")
    same_sent = sum(a == b for a, b in zip(theirs.sent, want_sent, strict=True))
    print(f"  identical (context, continuation) requests: {same_sent}/{n} questions")
    for metric, mine in ours.preds.items():
        lm = theirs.preds[metric]
        same = sum(a == b for a, b in zip(mine, lm, strict=True))
        acc_ours = sum(a == g for a, g in zip(mine, gold, strict=True)) / n
        acc_lm = sum(a == g for a, g in zip(lm, gold, strict=True)) / n
        print(f"  {metric:>8}: same prediction {same}/{n}; accuracy ours {acc_ours:.4f}, lm-eval {acc_lm:.4f} "
              f"(diff {100 * (acc_ours - acc_lm):+.2f} points)")
    print(f"  ours {ours.secs:.1f} s ({n / ours.secs:.2f} q/s); lm-eval {theirs.secs:.1f} s wall "
          f"({n / theirs.secs:.2f} q/s), {theirs.loglik:.1f} s in its log-likelihood requests")
    print(f"  speed-up vs lm-eval wall-clock: {theirs.secs / ours.secs:.2f}x "
          f"(vs its log-likelihood time alone: {theirs.loglik / ours.secs:.2f}x)")


@dataclass
class Side:
    """One side's totals over the slices: seconds, (lm-eval) seconds inside its log-likelihood requests, the
    predictions per metric and (lm-eval) the requests it sent, in row order."""

    secs: float = 0.0
    loglik: float = 0.0
    preds: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    sent: list[list[tuple[str, str]]] = field(default_factory=list)

    def add(self, secs: float, preds: dict[str, list[int]], loglik: float = 0.0, sent: list | None = None) -> None:
        self.secs += secs
        self.loglik += loglik
        for metric, p in preds.items():
            self.preds[metric] += p
        self.sent += sent or []


def interleave(slices: list[list[dict]], theirs: Callable[[list[dict], int], dict],
               ours: Callable[[list[dict]], dict[str, list[int]]]) -> tuple[Side, Side]:
    """Both sides slice by slice, alternating which goes first: on a machine shared with other jobs, the load then
    falls on both alike (one long run each would time them under different loads)."""
    lm, us = Side(), Side()
    for n, part in enumerate(slices):
        for side in (lm, us) if n % 2 == 0 else (us, lm):
            if side is lm:
                out = theirs(part, n)
                lm.add(out["wall"], out["preds"], out["loglik"], out["sent"])
            else:
                start = time.perf_counter()
                preds = ours(part)
                us.add(time.perf_counter() - start, preds)
        print(f"  after slice {n + 1}/{len(slices)}: ours {us.secs:.1f} s, lm-eval {lm.secs:.1f} s wall "
              f"({lm.loglik:.1f} s log-likelihood)", flush=True)
    return us, lm


def split(items: list, n: int) -> list[list]:
    """`items` in `n` contiguous slices of near-equal size."""
    return [items[round(i * len(items) / n):round((i + 1) * len(items) / n)] for i in range(n)]


def bench_mmlu(model, tok, folder: Path, per_subject: int, subjects: int | None | list[str], k_shot: int,
               batch_size: int, lm_batch_size: int, n_slices: int) -> None:
    only = subjects if isinstance(subjects, list) else None
    rows, dev = mmlu_rows(ROOT / "data/prepared/mmlu", per_subject, None if only else subjects, only)
    names = list(dict.fromkeys(r["subject"] for r in rows))
    slices = [[r for r in rows if r["subject"] in set(part)] for part in split(names, n_slices) if part]

    def theirs(part: list[dict], n: int) -> dict:
        out = run_lm_eval(model, tok, folder / str(n), mmlu_configs(part, dev, folder / str(n)), k_shot,
                          lm_batch_size)
        docs = {t.removeprefix("voc_mmlu_"): list(zip(out["docs"][t], out["sent"][t], strict=True))
                for t in out["docs"]}
        ordered = [docs[r["subject"]].pop(0) for r in part]  # each subject's docs in file order, as `part`
        return {**out, "preds": {"acc": [argmax(d) for d, _ in ordered]}, "sent": [q for _, q in ordered]}

    ours, lm = interleave(slices, theirs, lambda part: {"acc": predict_mmlu(model, tok, part, dev, k_shot,
                                                                            batch_size)})
    rows = [r for part in slices for r in part]
    want = [[(format_prompt(r, dev, k_shot), f" {c}") for c in LETTERS] for r in rows]
    report(f"MMLU {k_shot}-shot, {len(names)} subjects x {per_subject}, {len(slices)} slices", rows, ours, lm, want)


def bench_task(model, tok, folder: Path, task: str, limit: int, batch_size: int, lm_batch_size: int,
               n_slices: int) -> None:
    rows = read_jsonl(ROOT / f"data/prepared/tasks/{task}.validation.jsonl")[:limit]

    def theirs(part: list[dict], n: int) -> dict:
        out = run_lm_eval(model, tok, folder / str(n), task_config(task, part, folder / str(n)), 0, lm_batch_size)
        docs = out["docs"][f"voc_{task}"]
        # lm-eval's acc_norm divides by the choice's length in characters (without the delimiter space)
        chars = [[len(c) - 1 for c in r["choices"]] for r in part]
        norm = [argmax([ll / k for ll, k in zip(d, c, strict=True)]) for d, c in zip(docs, chars, strict=True)]
        preds = {"acc": [argmax(d) for d in docs], "acc_norm": norm}
        return {**out, "preds": preds, "sent": out["sent"][f"voc_{task}"]}

    def ours(part: list[dict]) -> dict[str, list[int]]:
        preds, preds_norm = predict_task(model, tok, part, batch_size)
        return {"acc": preds, "acc_norm": preds_norm}

    slices = [part for part in split(rows, n_slices) if part]
    us, lm = interleave(slices, theirs, ours)
    report(f"{task} 0-shot, {len(slices)} slices", rows, us, lm, [requests_for(r) for r in rows])


@click.command()
@click.option("--model", type=click.Path(exists=True, file_okay=False), help="HF model dir (default: tiny model)")
@click.option("--part", type=click.Choice(["mmlu", "arc_easy", "hellaswag"]), required=True)
@click.option("--k-shot", default=0, show_default=True, help="MMLU shots")
@click.option("--per-subject", default=10, show_default=True, help="MMLU test questions per subject")
@click.option("--subjects", type=int, help="MMLU subjects, spread evenly (default: all 57)")
@click.option("--subject-list", help="MMLU subjects by name, comma-separated (instead of --subjects)")
@click.option("--limit", default=300, show_default=True, help="task rows (the first N)")
@click.option("--batch-size", default=16, show_default=True, help="ours (rows; tokens capped at 256 a row)")
@click.option("--lm-eval-batch-size", default=16, show_default=True, help="lm-eval's HF backend")
@click.option("--slices", default=4, show_default=True, help="alternate the sides over this many slices")
def main(model: str | None, part: str, k_shot: int, per_subject: int, subjects: int | None, subject_list: str | None,
         limit: int, batch_size: int, lm_eval_batch_size: int, slices: int) -> None:
    """Per-question agreement, accuracies and the wall-clock ratio, ours vs lm-eval, on one MMLU setting or task."""
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    m, tok, label = load(model)
    print(f"model: {label}\nmachine: {machine()}\nbatch size: ours {batch_size}, lm-eval {lm_eval_batch_size}")
    with torch.inference_mode():  # warm-up (threads, allocator), so the side timed first is not penalised
        m(input_ids=torch.tensor([tok.encode("Warm up. " * 50)], device=m.device))
    with tempfile.TemporaryDirectory(prefix="voc-lmeval-") as tmp:
        if part == "mmlu":
            chosen = subject_list.split(",") if subject_list else subjects
            bench_mmlu(m, tok, Path(tmp), per_subject, chosen, k_shot, batch_size, lm_eval_batch_size, slices)
        else:
            bench_task(m, tok, Path(tmp), part, limit, batch_size, lm_eval_batch_size, slices)


if __name__ == "__main__":
    main()
