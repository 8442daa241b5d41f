"""MEMD-ABSA benchmark: convert the data, run the mix / LoRA / general-source series with DVC in a scratch copy of
the project, and collect every run's metrics into results.json, results.md and the frontier PNG.

    python benchmarks/real/run.py --profile cpu              # 2-core CPU subsample (see params.yaml)
    python benchmarks/real/run.py --profile gpu --domains all
    python benchmarks/real/run.py --profile smoke --runs mix0,lima-mix0.25 --model /path/to/tiny  # plumbing check
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import click
import yaml
from results import collect_run, hardware, markdown_report
from scratch import (
    DOMAINS,
    ROOT,
    convert,
    load_comments,
    make_project,
    profile_params,
    run_params,
    sh,
    split_sample,
)

from voc.io import atomic_path, write_json

HERE = Path(__file__).resolve().parent


def ran_stages(output: str) -> list[str]:
    """Stage names that `dvc exp run` executed (cached stages print no 'Running stage')."""
    return [line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage '")]


def select_runs(bench: dict, names: str | None) -> list[dict]:
    runs = bench["runs"]
    if not names:
        return runs
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    known = {r["name"]: r for r in runs}
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise click.BadParameter(f"unknown run(s) {unknown}; known: {list(known)}", param_hint="--runs")
    return [known[n] for n in wanted]


def exp_run(project: Path, params: dict, run: dict, log: Path) -> tuple[float, list[str]]:
    """Write the run's params and `dvc exp run -S mix=.. -S sft.method=..`; return wall seconds and stages run."""
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    cmd = ["dvc", "exp", "run", "-n", run["name"], "-S", f"mix={run['mix']}", "-S", f"sft.method={run['method']}"]
    start = time.perf_counter()
    out = sh(cmd, project, log)
    return time.perf_counter() - start, ran_stages(out)


def frontier(project: Path, out_dir: Path, log: Path) -> str | None:
    """`voc frontier` in the scratch repo; copy the PNG and markdown next to the results."""
    try:
        sh([sys.executable, "-m", "voc.cli", "frontier", "--repo", ".", "--out", "metrics/frontier"], project, log)
    except RuntimeError as e:
        click.echo(f"frontier failed (see {log}): {str(e)[:300]}", err=True)
        return None
    for name in ("frontier.png", "frontier.md"):
        with atomic_path(out_dir / name) as tmp:
            shutil.copy(project / "metrics/frontier" / name, tmp)
    return str(out_dir / "frontier.png")


def write_results(out_dir: Path, results: dict) -> None:
    write_json(out_dir / "results.json", results)
    with atomic_path(out_dir / "results.md") as tmp:
        tmp.write_text(markdown_report(results), encoding="utf-8")


@click.command()
@click.option("--profile", type=click.Choice(["smoke", "cpu", "gpu"]), default="cpu", show_default=True)
@click.option("--domains", type=click.Choice(["laptop", "all"]), default="laptop", show_default=True,
              help="laptop = MEMD Laptop only; all = the five MEMD domains (L1 = domain)")
@click.option("--work", type=click.Path(file_okay=False, path_type=Path), default=HERE / "work", show_default=True,
              help="scratch workspace (git-ignored); its project copy is rebuilt on every call")
@click.option("--runs", "run_names", help="comma-separated subset of the runs in params.yaml (default: all)")
@click.option("--model", type=click.Path(exists=True, file_okay=False), help="local HF model dir instead of the "
              "pinned SmolLM2 (e.g. a tiny test model for a plumbing check)")
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path),
              help="where results.json/.md and frontier.png go [default: benchmarks/real, or WORK for smoke]")
@click.option("--worktree", is_flag=True, help="copy the checkout's current files instead of the HEAD commit")
@click.option("--bench-params", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=HERE / "params.yaml", show_default=True)
def main(profile: str, domains: str, work: Path, run_names: str | None, model: str | None, out_dir: Path | None,
         worktree: bool, bench_params: Path) -> None:
    """Run the MEMD-ABSA benchmark series in a scratch copy of the project and collect the results."""
    started = time.perf_counter()
    bench = yaml.safe_load(bench_params.read_text())
    runs = select_runs(bench, run_names)
    out_dir = out_dir or (work if profile == "smoke" else HERE)
    work.mkdir(parents=True, exist_ok=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    log = work / "run.log"
    log.write_text("")
    names = ["Laptop"] if domains == "laptop" else list(DOMAINS)

    imported = work / "import"
    report = convert(names, imported, log)
    train, test, sample = split_sample(load_comments(imported / "comments.jsonl"), bench["profiles"][profile]["sample"])
    base = profile_params(bench, profile, model)
    project = work / "repo"
    make_project(project, {"train": train, "test": test}, imported / "taxonomy.csv", run_params(base, bench, runs[0]),
                 log, worktree)
    hw = hardware()
    results = {"profile": profile, "domains": names, "import": report, "sample": sample, "hardware": hw,
               "model": base["model"]["source"], "project_commit": sh(["git", "rev-parse", "HEAD"], ROOT).strip(),
               "worktree_copy": worktree,
               "params": base, "runs": [], "wall_s": None, "frontier_png": None}
    for run in runs:
        click.echo(f"[{run['name']}] dvc exp run (mix={run['mix']}, {run['method']}, source={run['source']}) ...")
        wall, stages = exp_run(project, run_params(base, bench, run), run, log)
        results["runs"].append(collect_run(project, run, wall, stages))
        results["wall_s"] = round(time.perf_counter() - started, 1)
        write_results(out_dir, results)
        click.echo(f"[{run['name']}] done in {wall:.0f} s: {len(stages)} stages ran")
    results["frontier_png"] = frontier(project, out_dir, log)
    results["wall_s"] = round(time.perf_counter() - started, 1)
    write_results(out_dir, results)
    click.echo(markdown_report(results))
    click.echo(f"results -> {out_dir / 'results.json'}, {out_dir / 'results.md'}; log: {log}")


if __name__ == "__main__":
    main()
