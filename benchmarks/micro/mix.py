"""The `mix` stage at scale (issue 12, section 5): 1M synthetic customer records + replay records, mixed by the
row-copying implementation it replaced (read from git, commit REFERENCE) and by `voc.data.mixing`, side by side in
one process on the same rows; then the stage's own path (read, count tokens, mix, write) on the same data as files.

    python -m benchmarks.micro.mix                          # 1M customer records, goal: <= 10 s
    python -m benchmarks.micro.mix --n 20000 --tokenizer models/base

Time is the best of --repeat runs without tracing; peak memory is a separate traced run (tracemalloc: Python
allocations made by the mix itself, inputs excluded).
"""

from __future__ import annotations

import importlib.util
import subprocess
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import click

from benchmarks.micro.util import ROOT, best_time, machine
from voc.core.files import write_jsonl
from voc.data import mixing

REFERENCE = "a5040b4f1837a2aa4121c53efe95fdd9364597da"  # the last commit of the row-copying voc/data/mixing.py
SOURCES = {"replay": (0.1, 3.0), "alpaca": (0.02, 1.0)}  # name: (rows per customer record, weight)
WORDS = ("the", "battery", "drains", "fast", "but", "the", "screen", "is", "bright", "and", "delivery", "was", "late")


def reference_module():
    """voc/data/mixing.py as of REFERENCE, loaded from git (no copy of the old code is kept in the tree)."""
    text = subprocess.run(["git", "show", f"{REFERENCE}:voc/data/mixing.py"], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp(prefix="voc-bench-")) / "mixing_reference.py"
    path.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("mixing_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rows(prefix: str, n: int) -> list[dict]:
    """Small chat records (a short comment and answer), as the stage keeps them: id + messages."""
    return [{"id": f"{prefix}{i}", "messages": [
        {"role": "user", "content": " ".join(WORDS[(i + k) % len(WORDS)] for k in range(4 + i % 9))},
        {"role": "assistant", "content": f'[{{"L1": "App", "n": {i}}}]'}]} for i in range(n)]


def peak_bytes(fn: Callable[[], object]) -> int:
    """Peak Python allocations of one call, inputs excluded (they exist before tracing starts)."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def stage_path(customer: list[dict], replay: dict[str, list[dict]], mix: float, tokenizer: str | None) -> None:
    """The stage's own steps on files: read (kept), count tokens (batch tokenizer or words), mix, write."""
    spec = importlib.util.spec_from_file_location("stage_mix", ROOT / "stages" / "mix.py")
    stage = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(stage)
    tmp = Path(tempfile.mkdtemp(prefix="voc-bench-mix-"))
    write_jsonl(tmp / "train.jsonl", customer)
    write_jsonl(tmp / "replay.jsonl", ({**r, "source": name} for name, rs in replay.items() for r in rs))
    steps: dict[str, tuple[float, float]] = {}

    def timed(name: str, fn: Callable[[], object]) -> object:
        """Wall and CPU seconds (all threads of this process: on a shared box CPU time is the steadier one)."""
        wall, cpu = time.perf_counter(), time.process_time()
        out = fn()
        steps[name] = (time.perf_counter() - wall, time.process_time() - cpu)
        return out

    def read() -> tuple[list[dict], dict[str, list[dict]]]:
        rep: dict[str, list[dict]] = {}
        for r in stage.kept(str(tmp / "replay.jsonl"), ("source", "id", "messages")):
            rep.setdefault(r.pop("source"), []).append(r)
        return list(stage.kept(str(tmp / "train.jsonl"), ("id", "messages"))), rep

    cust, rep = timed("read", read)
    count = stage.token_counter(tokenizer) if tokenizer else mixing.approx_token_counts
    weights = {k: w for k, (_, w) in SOURCES.items()}
    out, _ = timed("count tokens + mix", lambda: mixing.mix_records(cust, rep, weights, mix, 42, "samples", count))
    timed("write", lambda: write_jsonl(tmp / "mixed.jsonl", out))
    counter = f"{tokenizer} chat template, batched" if tokenizer else "whitespace words"
    total = [sum(t[i] for t in steps.values()) for i in (0, 1)]
    print(f"stage path ({counter}), wall (CPU) seconds: "
          + ", ".join(f"{k} {w:.2f} ({c:.2f})" for k, (w, c) in steps.items())
          + f"; total {total[0]:.2f} ({total[1]:.2f})")


@click.command()
@click.option("--n", default=1_000_000, show_default=True, help="customer records")
@click.option("--mix", "share", default=0.25, show_default=True, help="replay share")
@click.option("--repeat", default=2, show_default=True, help="timed runs per side (best is reported)")
@click.option("--tokenizer", type=click.Path(exists=True, file_okay=False),
              help="a model folder: time the stage path with its chat-template token counts (default: words)")
@click.option("--skip-reference", is_flag=True, help="time only the current implementation")
def main(n: int, share: float, repeat: int, tokenizer: str | None, skip_reference: bool) -> None:
    """Print seconds and peak MiB of both implementations, their ratio, and whether the rows are identical."""
    customer = rows("c", n)
    replay = {name: rows(name[0], round(n * size)) for name, (size, _) in SOURCES.items()}
    weights = {k: w for k, (_, w) in SOURCES.items()}
    sides = {"current": lambda: mixing.mix_records(customer, replay, weights, share, 42)}
    if not skip_reference:
        old = reference_module()
        sides["reference"] = lambda: old.mix_records(customer, replay, weights, share, 42)
    sizes = ", ".join(f"{k} {len(v):,} rows (weight {weights[k]})" for k, v in replay.items())
    print(f"{n:,} customer records + replay sources {sizes}, mix {share}; best of {repeat}")
    print(f"machine: {machine()}")
    results = {}
    for name, fn in sides.items():
        secs, (keys, report) = best_time(lambda fn=fn: read_all(fn), repeat)
        results[name] = (secs, keys, report)
        mib = peak_bytes(fn) / 2**20
        print(f"  {name:>9}: {secs:6.2f} s (mix, then read every row)  peak {mib:7.1f} MiB for {len(keys):,} rows "
              f"({mib * 2**20 / len(keys):.0f} B/row)  goal <= 10 s")
    if "reference" in results:
        (t_new, new, rep_new), (t_old, old_keys, rep_old) = results["current"], results["reference"]
        print(f"speed-up current / reference: {t_old / t_new:.2f}x; identical rows (source, id in order) and report: "
              f"{new == old_keys and without_categories(rep_new) == rep_old}")
    stage_path(customer, replay, share, tokenizer)


def without_categories(report: object) -> object:
    """The report minus its per-category shares, which the reference (written before replay rows had a category)
    does not compute; every other field must match."""
    if isinstance(report, dict):
        return {k: without_categories(v) for k, v in report.items() if k != "categories"}
    return report


def read_all(fn: Callable[[], tuple]) -> tuple[list[tuple[str, str]], dict]:
    """Mix, then read every row once as the stage's writer does; (source, id) of each row, and the report."""
    rows, report = fn()
    return [(r["source"], r["id"]) for r in rows], report

if __name__ == "__main__":
    main()
