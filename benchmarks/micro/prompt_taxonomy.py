"""What the taxonomy in every prompt costs and buys (issue 12, section 2): `prompt.taxonomy` names vs none, side by
side in one run on the same data, model and settings: prepare -> mix -> SFT -> eval_voc of the SFT model.

    python -m benchmarks.micro.prompt_taxonomy                     # the demo (params.yaml as it is)
    python -m benchmarks.micro.prompt_taxonomy --modes names,none,full --steps 24

Each setting runs the stage scripts themselves (python stages/*.py, as dvc.lock records them, without accelerate:
one process either way) into a temp folder; nothing in the workspace is written. It needs models/base and
data/replay/replay.jsonl (the `assets` and `replay` stages' outputs). The base model's evaluation is the same for
names and none (it is always shown the taxonomy), so it is not rerun here.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click
import yaml

from benchmarks.memd.scratch import tool_env
from benchmarks.micro.util import ROOT, machine


def cpu_seconds() -> float:
    """CPU seconds (user + system) of every finished child process so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(args: list[str], log: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one stage script (on a shared box CPU time is the steadier one); its output goes to
    `log`, and a failure stops the benchmark with its tail."""
    start, cpu = time.perf_counter(), cpu_seconds()
    res = subprocess.run([sys.executable, *args], cwd=ROOT, env=tool_env(ROOT), capture_output=True, text=True)
    log.write_text(res.stdout + res.stderr, encoding="utf-8")
    if res.returncode != 0:
        raise click.ClickException(f"{' '.join(args)} failed:\n{(res.stdout + res.stderr)[-3000:]}")
    return time.perf_counter() - start, cpu_seconds() - cpu


def one_setting(mode: str, params: dict, base: Path, replay: Path, tmp: Path) -> dict:
    """prepare -> mix -> sft -> eval_voc@sft with prompt.taxonomy = mode; the numbers that tell them apart."""
    d = tmp / mode
    d.mkdir(parents=True)
    (d / "params.yaml").write_text(yaml.safe_dump({**params, "prompt": {"taxonomy": mode}}, sort_keys=False))
    p, prep = str(d / "params.yaml"), d / "prepared"
    run(["stages/prepare.py", "--params", p, "--out", str(prep), "--metrics", str(d / "data.json"),
         "--plot", str(d / "plot.json"), "--tokenizer", str(base)], d / "prepare.log")
    run(["stages/mix.py", "--params", p, "--train", str(prep / "train.jsonl"), "--replay", str(replay),
         "--tokenizer", str(base), "--out", str(d / "mixed.jsonl"), "--metrics", str(d / "mix.json")], d / "mix.log")
    sft_s, sft_cpu = run(["stages/sft.py", "--params", p, "--train", str(d / "mixed.jsonl"), "--base", str(base),
                 "--out", str(d / "sft"), "--checkpoints", str(d / "ckpt"), "--live", str(d / "live")],
                d / "sft.log")
    eval_s, eval_cpu = run(["stages/eval_voc.py", "--params", p, "--model", str(d / "sft"), "--name", "sft", "--data",
                  str(prep), "--out", str(d / "voc_sft.json"), "--details", str(d / "voc_sft")], d / "eval.log")
    tokens = json.loads((d / "data.json").read_text())["tokens"]
    stats = json.loads((d / "live" / "train_stats.json").read_text())
    ev = json.loads((d / "voc_sft.json").read_text())
    return {"prompt_p50": tokens["prompt"]["p50"], "total_p50": tokens["total"]["p50"],
            "set_tokens": stats["tokens"], "steps": stats["global_step"], "train_loss": stats["train_loss"],
            "sft_s": sft_s, "sft_cpu_s": sft_cpu, "eval_s": eval_s, "eval_cpu_s": eval_cpu, "n": ev["n"],
            "f1": ev["f1"], "nova_f1": ev.get("nova_f1"),
            "json_valid": ev["json_valid_rate"], "in_taxonomy": ev["label_in_taxonomy_rate"],
            "path_consistent": ev["path_consistent_rate"]}


@click.command()
@click.option("--params", "params_path", type=click.Path(exists=True, dir_okay=False), default=ROOT / "params.yaml",
              show_default=True, help="the settings both runs share (data, sft, eval)")
@click.option("--modes", default="names,none", show_default=True, help="prompt.taxonomy values to compare")
@click.option("--steps", type=int, help="sft.max_steps for both (default: the params file's)")
@click.option("--limit", type=int, help="eval.limit for both (default: the params file's)")
@click.option("--base", type=click.Path(exists=True, file_okay=False, path_type=Path), default=ROOT / "models/base")
@click.option("--replay", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=ROOT / "data/replay/replay.jsonl")
def main(params_path: str, modes: str, steps: int | None, limit: int | None, base: Path, replay: Path) -> None:
    """Print, per setting: prompt tokens, SFT tokens and seconds, eval seconds, leaf F1 and label-in-taxonomy rate."""
    params = yaml.safe_load(Path(params_path).read_text())
    params["data"] = {k: str(ROOT / v) if isinstance(v, str) else v for k, v in params["data"].items()}
    if steps is not None:
        params["sft"]["max_steps"] = steps
    if limit is not None:
        params["eval"]["limit"] = limit
    params["sft"]["accelerate_config"] = str(ROOT / params["sft"]["accelerate_config"])
    tmp = Path(tempfile.mkdtemp(prefix="voc-bench-prompt-"))
    results = {m: one_setting(m, params, base, replay, tmp) for m in modes.split(",")}
    print(f"machine: {machine()}\nlogs and outputs: {tmp}")
    print(f"data {params['data']['comments']}, sft max_steps {params['sft']['max_steps']} x batch "
          f"{params['sft']['batch_size']}, eval on {next(iter(results.values()))['n']} test comments")
    cols = ("prompt_p50", "total_p50", "set_tokens", "sft_s", "sft_cpu_s", "train_loss", "eval_s", "eval_cpu_s", "f1",
            "nova_f1", "json_valid", "in_taxonomy", "path_consistent")
    print("| prompt.taxonomy | " + " | ".join(cols) + " |\n|---|" + "---|" * len(cols))
    for mode, r in results.items():
        cells = [f"{r[c]:.3f}" if isinstance(r[c], float) and not c.endswith("_s") else
                 f"{r[c]:.0f}" if isinstance(r[c], float) else str(r[c]) for c in cols]
        print(f"| {mode} | " + " | ".join(cells) + " |")
    first, *rest = results
    for mode in rest:
        a, b = results[first], results[mode]
        print(f"{mode} / {first}: prompt tokens {b['prompt_p50'] / a['prompt_p50']:.2f}x, SFT-set tokens "
              f"{b['set_tokens'] / a['set_tokens']:.2f}x, SFT CPU time {b['sft_cpu_s'] / a['sft_cpu_s']:.2f}x, eval "
              f"CPU time {b['eval_cpu_s'] / a['eval_cpu_s']:.2f}x")


if __name__ == "__main__":
    main()
