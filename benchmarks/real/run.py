"""MEMD-ABSA benchmark: convert the data, run the mix / LoRA / general-source series with DVC in a scratch copy of
the project, and collect every run's metrics into results.json, results.md and the frontier PNG.

    python benchmarks/real/run.py --profile cpu              # 2-core CPU subsample (see params.yaml)
    python benchmarks/real/run.py --profile gpu --domains all
    python benchmarks/real/run.py --profile smoke --runs mix0,lima-mix0.25 --model /path/to/tiny  # plumbing check

On a machine without DVC (the lent GPU box), `--executor direct` runs the same dvc.yaml commands without DVC,
`--jobs` runs at a time (see direct.py); `--assets-from` reuses built assets and `--shared` says where the
public data lies (benchmarks/real/gpu.sh drives that).
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import click
import yaml
from direct import SHARED_STAGES, link_assets, run_series, run_stages
from results import collect_run, hardware, markdown_report, merge_sessions
from scratch import (
    DOMAINS,
    ROOT,
    SHARED,
    convert,
    load_comments,
    make_project,
    profile_params,
    run_params,
    sh,
    split_sample,
)

from voc.core.files import atomic_path, read_json, write_json
from voc.report.frontier import Point, summary_metrics, write_frontier

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
    return copy_frontier(project / "metrics/frontier", out_dir)


def copy_frontier(src: Path, out_dir: Path) -> str:
    """The frontier PNG and markdown next to the results; returns the PNG's path."""
    for name in ("frontier.png", "frontier.md"):
        with atomic_path(out_dir / name) as tmp:
            shutil.copy(src / name, tmp)
    return str(out_dir / "frontier.png")


def write_results(out_dir: Path, results: dict) -> None:
    write_json(out_dir / "results.json", results)
    with atomic_path(out_dir / "results.md") as tmp:
        tmp.write_text(markdown_report(results), encoding="utf-8")


def head_commit() -> str:
    """VOC_COMMIT (gpu.sh sets it: a device's copy may carry a stale .git), else git's HEAD, else 'unknown'."""
    if os.environ.get("VOC_COMMIT"):
        return os.environ["VOC_COMMIT"]
    try:
        return sh(["git", "rev-parse", "HEAD"], ROOT).strip()
    except (RuntimeError, FileNotFoundError):
        return "unknown"


def frontier_from_results(results: dict, work: Path, out_dir: Path) -> str | None:
    """The frontier drawn from the collected runs, with the writer `voc frontier` uses (no DVC needed)."""
    rev = results.get("executor", "dvc")
    points = [Point(r["name"], rev, r["mix"], r["method"], (r["source"],), summary_metrics(r["summary"]))
              for r in results["runs"]]
    if not points:
        return None
    return copy_frontier(write_frontier(points, [], work / "frontier"), out_dir)


def direct_series(project: Path, runs: list[dict], params_of, jobs: int, assets_from: Path | None, work: Path,
                  save, results: dict, started: float) -> None:
    """The series without DVC: shared stages once, then base evaluations and runs `jobs` at a time."""
    logs = work / "logs"
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True)
    if assets_from:
        link_assets(project, assets_from)
    t0 = time.perf_counter()
    run_stages(project, SHARED_STAGES if assets_from else ("assets", *SHARED_STAGES), logs / "base-shared.log")
    results["shared_stages_s"] = round(time.perf_counter() - t0, 1)
    order = {r["name"]: i for i, r in enumerate(runs)}

    def done(run: dict, run_project: Path, wall: float, stages: list[str], error: str | None) -> None:
        if error:
            results["failed"].append({"name": run["name"], "error": error, "log": str(logs / f"{run['name']}.log")})
            click.echo(f"[{run['name']}] FAILED: {error}", err=True)
        else:
            results["runs"].append(collect_run(run_project, run, wall, stages))
            results["runs"].sort(key=lambda r: order[r["name"]])
            click.echo(f"[{run['name']}] done in {wall:.0f} s: {len(stages)} stages ran")
        results["wall_s"] = round(time.perf_counter() - started, 1)
        save(results)

    run_series(project, runs, params_of, jobs, logs, done)


@click.command()
@click.option("--profile", default="cpu", show_default=True,
              help="a profile of --bench-params: smoke, cpu, gpu-smoke, gpu")
@click.option("--domains", type=click.Choice(["laptop", "all"]), default="laptop", show_default=True,
              help="laptop = MEMD Laptop only; all = the five MEMD domains (L1 = domain)")
@click.option("--work", type=click.Path(file_okay=False, path_type=Path), default=HERE / "work", show_default=True,
              help="scratch workspace (git-ignored); its project copy is rebuilt on every call")
@click.option("--runs", "run_names", help="comma-separated subset of the runs in params.yaml (default: all)")
@click.option("--model", type=click.Path(exists=True, file_okay=False), help="local HF model dir instead of the "
              "pinned SmolLM2 (e.g. a tiny test model for a plumbing check)")
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path),
              help="where results.json/.md and frontier.png go [default: benchmarks/real, or WORK for smoke]")
@click.option("--copy", "copy_mode", type=click.Choice(["head", "worktree", "files"]), default="head",
              show_default=True, help="what the scratch project copies: the HEAD commit, the git working tree, "
              "or every file on disk (a device's copy of the checkout)")
@click.option("--bench-params", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=HERE / "params.yaml", show_default=True)
@click.option("--executor", type=click.Choice(["dvc", "direct"]), default="dvc", show_default=True,
              help="dvc = `dvc exp run` per run; direct = the dvc.yaml commands without DVC (direct.py)")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="direct executor: runs (and base evaluations) at a time")
@click.option("--assets-from", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="direct executor: a folder with built models/base, data/prepared/{mmlu,general_eval}")
@click.option("--shared", type=click.Path(exists=True, file_okay=False, path_type=Path), default=SHARED,
              show_default=True, help="the shared data folder (holds data/memd_absa, data/general)")
@click.option("--merge-with", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="results.json of an earlier session (same profile, domains, subsample): write the merge of both")
def main(profile: str, domains: str, work: Path, run_names: str | None, model: str | None, out_dir: Path | None,
         copy_mode: str, bench_params: Path, executor: str, jobs: int, assets_from: Path | None,
         shared: Path, merge_with: Path | None) -> None:
    """Run the MEMD-ABSA benchmark series in a scratch copy of the project and collect the results."""
    started = time.perf_counter()
    bench = yaml.safe_load(bench_params.read_text())
    if profile not in bench["profiles"]:
        raise click.BadParameter(f"'{profile}' is not one of {list(bench['profiles'])}", param_hint="--profile")
    runs = select_runs(bench, run_names)
    earlier = read_json(merge_with) if merge_with else None  # read now: it may be the file this run rewrites
    order = [r["name"] for r in bench["runs"]]
    out_dir = out_dir or (work if profile.endswith("smoke") else HERE)
    work.mkdir(parents=True, exist_ok=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    log = work / "run.log"
    log.write_text("")
    names = ["Laptop"] if domains == "laptop" else list(DOMAINS)

    imported = work / "import"
    report = convert(names, imported, log, shared)
    train, test, sample = split_sample(load_comments(imported / "comments.jsonl"), bench["profiles"][profile]["sample"])
    base = profile_params(bench, profile, model)
    project = work / "repo"
    make_project(project, {"train": train, "test": test}, imported / "taxonomy.csv",
                 run_params(base, bench, runs[0], shared), log, copy_mode, git=executor == "dvc")
    results = {"profile": profile, "domains": names, "import": report, "sample": sample, "hardware": hardware(),
               "model": base["model"]["source"], "project_commit": head_commit(), "copy": copy_mode,
               "executor": executor, "jobs": jobs if executor == "direct" else 1,
               "params": base, "runs": [], "failed": [], "wall_s": None, "frontier_png": None}

    def with_earlier(res: dict) -> dict:
        """This session's results, merged into the earlier session's where --merge-with gave one."""
        return merge_sessions(earlier, res, order) if earlier is not None else res

    def save(res: dict) -> None:
        write_results(out_dir, with_earlier(res))

    if executor == "direct":
        direct_series(project, runs, lambda r: run_params(base, bench, r, shared), jobs, assets_from, work, save,
                      results, started)
    else:
        for run in runs:
            click.echo(f"[{run['name']}] dvc exp run (mix={run['mix']}, {run['method']}, source={run['source']}) ...")
            wall, stages = exp_run(project, run_params(base, bench, run, shared), run, log)
            results["runs"].append(collect_run(project, run, wall, stages))
            results["wall_s"] = round(time.perf_counter() - started, 1)
            save(results)
            click.echo(f"[{run['name']}] done in {wall:.0f} s: {len(stages)} stages ran")
    results["wall_s"] = round(time.perf_counter() - started, 1)
    results = with_earlier(results)
    # dvc executor, one session: `voc frontier` over the scratch repo's experiments; else drawn from the results
    if executor == "dvc" and earlier is None:
        results["frontier_png"] = frontier(project, out_dir, log)
    else:
        results["frontier_png"] = frontier_from_results(results, work, out_dir)
    write_results(out_dir, results)
    click.echo(markdown_report(results))
    click.echo(f"results -> {out_dir / 'results.json'}, {out_dir / 'results.md'}; logs: {work}")
    if results["failed"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
