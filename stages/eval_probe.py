"""Stage `eval_probe@{base,sft}`: held-out prompts with machine-checkable constraints (instruction following)."""

from __future__ import annotations

from pathlib import Path

import click

from voc.core.files import write_json, write_jsonl
from voc.core.params import load_params
from voc.eval.probe import check_constraint, load_prompts, probe_report
from voc.model.generate import generate_outputs


@click.command()
@click.option("--params", "params_path", default="params.yaml", type=click.Path(exists=True))
@click.option("--model", "model_dir", required=True, type=click.Path(exists=True))
@click.option("--out", required=True, type=click.Path())
@click.option("--details", required=True, type=click.Path(), help="JSONL of prompts, answers and pass/fail")
def main(params_path: str, model_dir: str, out: str, details: str) -> None:
    p = load_params(params_path, "probe", "eval", "model")
    prompts = load_prompts(p.probe.path, "probe")
    answers = generate_outputs(p.eval.backend, model_dir, [[{"role": "user", "content": q["prompt"]}]
                               for q in prompts], p.probe.max_new_tokens, p.probe.batch_size,
                               p.model.trust_remote_code)
    report = probe_report(answers, prompts)
    pairs = zip(prompts, answers, strict=True)
    write_jsonl(Path(details), [{"id": q["id"], "prompt": q["prompt"], "constraint": q["constraint"], "answer": a,
                                 "pass": check_constraint(a, q["constraint"])} for q, a in pairs])
    write_json(out, report)
    click.echo(f"eval_probe: pass rate {report['pass_rate']:.3f} on {report['n']} prompts")


if __name__ == "__main__":
    main()
