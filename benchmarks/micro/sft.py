"""SFT throughput and peak memory (issue 12 §3): today's Trainer configuration (padded batches, logits at every
position) against the new batch layouts of `voc.train.batching`, on the same MEMD laptop records, same steps.

    python -m benchmarks.micro.sft --model models/base                       # reference vs the repo's defaults
    python -m benchmarks.micro.sft --model models/base --sides reference,completion,grouped,packed

Each side trains in its own subprocess, so its peak RSS (`ru_maxrss`) is its own. Sides:

- `reference`: today's configuration: `DataCollatorForSeq2Seq` padding, full logits, random sampling;
- `new`: what `voc.train.sft.train_sft` now does with the repo's params.yaml (`sft.packing`, `sft.sampling`);
- `completion`: logits at the answer positions only, padded, random sampling;
- `grouped`: `completion` with `train_sampling_strategy=group_by_length`;
- `packed`: `completion` with padding-free packing (`DataCollatorWithFlattening`).

Records are built as the pipeline builds them: `voc.importers.memd` on the Laptop folder, checked by
`voc.data.comments.load_comments`, a seeded sample of the Train+Dev comments (as benchmarks/memd's cpu profile),
`voc.data.prompt` chat messages with the taxonomy's names in the system prompt. Prints tokens/s and peak memory per
side and their ratios to `reference`; writes results.json, loss.tsv and loss.png to `--out`.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click
import yaml

from benchmarks.memd.scratch import MEMD, SHARED, split_sample
from benchmarks.micro.util import ROOT, machine

SIDES = {  # (packing, completion-only logits, sampling); None = the repo's params.yaml value
    "reference": (False, False, "random"),
    "new": (None, True, None),
    "completion": (False, True, "random"),
    "grouped": (False, True, "group_by_length"),
    "packed": (True, True, "random"),
}


def build_records(n: int, seed: int, out: Path) -> Path:
    """`n` chat records from the MEMD Laptop Train+Dev comments, written to `out`/train.jsonl."""
    from voc.core.files import write_jsonl
    from voc.core.taxonomy import load_taxonomy
    from voc.data.comments import load_comments
    from voc.data.prompt import build_messages, system_prompt
    from voc.importers.common import write_import
    from voc.importers.memd import import_memd

    imported = import_memd([SHARED / MEMD / "Laptop"], domain="Laptop")
    write_import(imported, out / "import")
    sample, _, _ = split_sample(imported.comments, {"seed": seed, "train": n, "test": 0})
    write_jsonl(out / "comments.jsonl", sample)  # as the memd benchmark writes data/raw/memd/train.jsonl
    taxonomy = load_taxonomy(out / "import/taxonomy.csv")
    train = load_comments(out / "comments.jsonl", taxonomy).accepted  # as prepare reads it
    system = system_prompt(taxonomy, "names")
    rows = [{**r, "messages": build_messages(r["text"], system, r["segments"], taxonomy.levels)} for r in train]
    write_jsonl(out / "train.jsonl", rows)
    return out / "train.jsonl"


def sft_params(steps: int, batch_size: int, max_length: int) -> dict:
    """The repo's sft: block with the benchmark's budget (full SFT, no checkpoints, a loss every step)."""
    sft = yaml.safe_load((ROOT / "params.yaml").read_text())["sft"]
    return {**sft, "method": "full", "max_steps": steps, "batch_size": batch_size, "grad_accum": 1,
            "max_length": max_length, "save_steps": 10_000, "logging_steps": 1}


class Counted:
    """A collator that records the real (unpadded) tokens and the positions computed in every batch."""

    def __init__(self, collate) -> None:
        self.collate, self.tokens, self.positions = collate, [], []

    def __call__(self, features):
        batch = self.collate(features)
        self.tokens.append(sum(len(f["input_ids"]) for f in features))
        self.positions.append(int(batch["input_ids"].numel()))
        return batch


def _step_timer():
    """A Trainer callback timing every optimizer step (forward, backward, optimizer), batching excluded."""
    from transformers import TrainerCallback

    class StepTimer(TrainerCallback):
        def __init__(self) -> None:
            self.seconds: list[float] = []
            self.start = 0.0

        def on_step_begin(self, args, state, control, **kwargs):
            self.start = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            self.seconds.append(time.perf_counter() - self.start)

    return StepTimer()


def run_side(side: str, train: Path, model_dir: Path, sft: dict, out: Path) -> None:
    """Train one side in this process and write its timings, losses and peak RSS to `out` (JSON)."""
    import torch
    from transformers import Trainer

    from voc.core.files import read_jsonl
    from voc.core.params import check_sft_params
    from voc.model.loading import load_tokenizer, load_weights
    from voc.train.batching import make_collator
    from voc.train.examples import build_dataset
    from voc.train.sft import make_training_args

    torch.set_num_threads(len(os.sched_getaffinity(0)))  # as train_sft does for one CPU process
    packing, completion_only, sampling = SIDES[side]
    sft = check_sft_params({**sft, **({} if packing is None else {"packing": packing}),
                            **({} if sampling is None else {"sampling": sampling})})
    tok = load_tokenizer(model_dir)
    dataset, stats = build_dataset(read_jsonl(train), tok, sft.max_length, source=str(train),
                                   max_truncated_share=sft.max_truncated_share)
    torch.manual_seed(sft.seed)
    model = load_weights(model_dir, dtype=torch.float32, device="cpu")
    collator, timer = Counted(make_collator(tok, sft.packing, completion_only)), _step_timer()
    with tempfile.TemporaryDirectory() as tmp:
        args = make_training_args(sft, tmp, use_cpu=True, save_strategy="no")
        trainer = Trainer(model=model, args=args, train_dataset=dataset, data_collator=collator,
                          processing_class=tok, callbacks=[timer])
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
        trainer.train()
    out.write_text(json.dumps({
        "side": side, "packing": sft.packing, "completion_only": completion_only, "sampling": sft.sampling,
        "examples": stats["examples"], "length_p99": stats["length_p99"], "step_seconds": timer.seconds,
        "tokens": collator.tokens, "positions": collator.positions,
        "losses": [h["loss"] for h in trainer.state.log_history if "loss" in h],
        "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "rss_before_train_gib": rss_before}))


def summarise(res: dict) -> dict:
    """Trained (real) tokens/s over all steps and over steps 2.. (the first one allocates), padding share."""
    secs, tokens = res["step_seconds"], res["tokens"][:len(res["step_seconds"])]
    return {"tokens_per_s": sum(tokens) / sum(secs), "steady_tokens_per_s": sum(tokens[1:]) / sum(secs[1:]),
            "padding_share": 1 - sum(tokens) / sum(res["positions"][:len(secs)]), "seconds": sum(secs),
            "trained_tokens": sum(tokens)}


def write_curves(results: dict[str, dict], out: Path) -> None:
    """loss.tsv (step, one column per side) and loss.png."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sides = list(results)
    steps = range(1, max(len(r["losses"]) for r in results.values()) + 1)
    lines = ["step\t" + "\t".join(sides)]
    for i in steps:
        lines.append("\t".join([str(i)] + [f"{results[s]['losses'][i - 1]:.4f}" if i <= len(results[s]["losses"])
                                            else "" for s in sides]))
    (out / "loss.tsv").write_text("\n".join(lines) + "\n")
    fig, ax = plt.subplots(figsize=(6, 4))
    for s in sides:
        ax.plot(range(1, len(results[s]["losses"]) + 1), results[s]["losses"], marker="o", label=s)
    ax.set(xlabel="optimizer step", ylabel="train loss", title="SFT loss, MEMD laptop records")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "loss.png", dpi=100)


def report(results: dict[str, dict]) -> list[str]:
    """One line per side, then each side's ratios to the reference."""
    sums = {s: summarise(r) for s, r in results.items()}
    lines = []
    for s, m in sums.items():
        r = results[s]
        lines.append(f"  {s:>10}: {m['tokens_per_s']:7.1f} tok/s (steady {m['steady_tokens_per_s']:7.1f}), "
                     f"{m['seconds']:6.1f} s, {m['trained_tokens']} tokens, padding {m['padding_share']:.1%}, "
                     f"peak RSS {r['peak_rss_gib']:.2f} GiB (before training {r['rss_before_train_gib']:.2f})")
    ref = sums.get("reference")
    for s, m in sums.items():
        if ref is None or s == "reference":
            continue
        peak, ref_peak = results[s]["peak_rss_gib"], results["reference"]["peak_rss_gib"]
        diffs = [abs(a - b) for a, b in zip(results[s]["losses"], results["reference"]["losses"], strict=False)]
        less = 1 - peak / ref_peak
        lines.append(f"{s} / reference: {m['tokens_per_s'] / ref['tokens_per_s']:.2f}x tokens/s (steady "
                     f"{m['steady_tokens_per_s'] / ref['steady_tokens_per_s']:.2f}x), peak memory "
                     f"{abs(less):.1%} {'lower' if less >= 0 else 'higher'}, max |loss difference| {max(diffs):.4f}")
    return lines


@click.command()
@click.option("--model", type=click.Path(exists=True, file_okay=False), default="models/base", show_default=True)
@click.option("--sides", default="reference,new", show_default=True, help=f"comma-separated, of {list(SIDES)}")
@click.option("--records", default=300, show_default=True, help="MEMD laptop Train+Dev comments (seeded sample)")
@click.option("--steps", default=8, show_default=True)
@click.option("--batch-size", default=4, show_default=True)
@click.option("--max-length", default=1024, show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("benchmarks/micro/results/sft"),
              show_default=True)
@click.option("--side", "one_side", hidden=True, help="run one side in this process (used by the parent)")
@click.option("--train", type=click.Path(path_type=Path), hidden=True)
def main(model: str, sides: str, records: int, steps: int, batch_size: int, max_length: int, out: Path,
         one_side: str | None, train: Path | None) -> None:
    """Train each side for the same steps on the same records in its own process; print tokens/s, peak RSS and
    the ratios to the reference; write results.json, loss.tsv and loss.png to --out."""
    sft = sft_params(steps, batch_size, max_length)
    if one_side:
        run_side(one_side, train, Path(model), sft, out)
        return
    names = [s.strip() for s in sides.split(",") if s.strip()]
    unknown = [s for s in names if s not in SIDES]
    if unknown:
        raise click.BadParameter(f"unknown side(s) {unknown}; known: {list(SIDES)}", param_hint="--sides")
    out.mkdir(parents=True, exist_ok=True)
    results = {}
    with tempfile.TemporaryDirectory(prefix="voc-bench-sft-") as tmp:
        train = build_records(records, 42, Path(tmp))
        for s in names:
            res = Path(tmp) / f"{s}.json"
            cmd = [sys.executable, "-m", "benchmarks.micro.sft", "--model", model, "--steps", str(steps),
                   "--batch-size", str(batch_size), "--max-length", str(max_length), "--side", s,
                   "--train", str(train), "--out", str(res)]
            subprocess.run(cmd, cwd=ROOT, check=True)
            results[s] = json.loads(res.read_text())
    lines = [f"model: {model}\nmachine: {machine()}",
             f"{records} MEMD laptop records (p99 {results[names[0]]['length_p99']} tokens), batch {batch_size}, "
             f"max_length {max_length}, {steps} steps per side, params.yaml sft defaults: "
             f"packing={sft.get('packing')}, sampling={sft.get('sampling')}", *report(results)]
    print("\n".join(lines))
    (out / "results.json").write_text(json.dumps({"summary": lines, "sides": results}, indent=1) + "\n")
    write_curves(results, out)


if __name__ == "__main__":
    main()
