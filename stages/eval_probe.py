"""Stage `eval_probe@{base,sft}`: instruction following, by the project's probe prompts or by IFEval.

`probe.ifeval.source` unset: the held-out prompts of `probe.path`, one machine-checkable constraint each. Set: IFEval
(voc.eval.ifeval), with the same metrics file and details file, so `report` reads either the same way."""

from __future__ import annotations

from pathlib import Path

import click

from voc.core.files import sha256_file, write_json, write_jsonl
from voc.core.params import load_params
from voc.eval.ifeval import ifeval_report, load_ifeval
from voc.eval.probe import check_constraint, load_prompts, probe_report
from voc.model.generate import generate_outputs, generate_outputs_with_hits


def _chats(prompts: list[dict]) -> list[list[dict]]:
    return [[{"role": "user", "content": q["prompt"]}] for q in prompts]


def run_ifeval(p, model_dir: str, out: str, details: str) -> None:
    """IFEval: generate with its own token budget, score strict and loose, write metrics and per-prompt outcomes."""
    cfg = p.probe.ifeval
    rows = load_ifeval(cfg.source, cfg.revision, cfg.limit)
    answers, hits = generate_outputs_with_hits(p.eval.backend, model_dir, _chats(rows), cfg.max_new_tokens,
                                               p.probe.batch_size, p.model.trust_remote_code)
    report, items = ifeval_report(rows, answers, hits)
    write_jsonl(Path(details), items)
    # dvc.yaml cannot list an optional file as a dep, so the metrics name the exact bytes scored
    sha = sha256_file(cfg.source) if Path(cfg.source).is_file() else None
    write_json(out, {**report, "source": cfg.source, "revision": cfg.revision, "sha256": sha})
    click.echo(f"eval_probe: IFEval prompt-level strict {report['pass_rate']:.3f}, instruction-level strict "
               f"{report['inst_level_strict_acc']:.3f} on {report['n']} prompts")


@click.command()
@click.option("--params", "params_path", default="params.yaml", type=click.Path(exists=True))
@click.option("--model", "model_dir", required=True, type=click.Path(exists=True))
@click.option("--out", required=True, type=click.Path())
@click.option("--details", required=True, type=click.Path(), help="JSONL of prompts, answers and pass/fail")
def main(params_path: str, model_dir: str, out: str, details: str) -> None:
    p = load_params(params_path, "probe", "eval", "model")
    if p.probe.ifeval.source is not None:
        run_ifeval(p, model_dir, out, details)
        return
    prompts = load_prompts(p.probe.path, "probe")
    answers = generate_outputs(p.eval.backend, model_dir, _chats(prompts), p.probe.max_new_tokens,
                               p.probe.batch_size, p.model.trust_remote_code)
    report = probe_report(answers, prompts)
    pairs = zip(prompts, answers, strict=True)
    write_jsonl(Path(details), [{"id": q["id"], "prompt": q["prompt"], "constraint": q["constraint"], "answer": a,
                                 "pass": check_constraint(a, q["constraint"])} for q, a in pairs])
    write_json(out, report)
    click.echo(f"eval_probe: pass rate {report['pass_rate']:.3f} on {report['n']} prompts")


if __name__ == "__main__":
    main()
