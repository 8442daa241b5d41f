"""MEMD-ABSA benchmark: convert the data, run the mix / LoRA / replay-source series with DVC in a scratch copy of
the project, and collect every run's metrics into results.json, results.md and the frontier PNG.

    python -m benchmarks.memd.run --profile cpu              # 2-core CPU subsample (see params.yaml)
    python -m benchmarks.memd.run --profile gpu --domains all
    python -m benchmarks.memd.run --profile smoke --runs mix0,lima-mix0.25 --model /path/to/tiny  # plumbing check

On a machine without DVC (an air-gapped GPU cluster), `--executor direct` runs the commands dvc.lock recorded,
`--jobs` stages at a time (see direct.py); `--assets-from` reuses built assets and `--shared` says where the
public data lies (benchmarks/memd/gpu.sh drives that).
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

import click
import yaml

from benchmarks.memd.direct import run_series
from benchmarks.memd.results import collect_run, hardware, markdown_report, merge_sessions
from benchmarks.memd.scratch import (
    DOMAINS,
    ROOT,
    SHARED,
    convert,
    load_comments,
    make_project,
    profile_params,
    run_alpha,
    run_params,
    sh,
    split_sample,
)
from voc.core.files import atomic_path, read_json, write_json
from voc.core.schema import Decision
from voc.report.frontier import write_frontier
from voc.report.frontier_data import Point, freeze_label, summary_metrics

HERE = Path(__file__).resolve().parent


def ran_stages(output: str) -> list[str]:
    """Stage names that `dvc exp run` executed (cached stages print no 'Running stage')."""
    return [line.split("'")[1] for line in output.splitlines() if line.startswith("Running stage '")]


def select_runs(bench: dict, names: str | None) -> list[dict]:
    """The runs `--runs` names, in its order (all of params.yaml's when it is not given)."""
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
    cmd = ["dvc", "exp", "run", "-n", run["name"], "-S", f"mix={run['mix']}", "-S", f"sft.method={run['method']}",
           "-S", f"merge.alpha={run_alpha(run)}"]
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
    """results.json and results.md, rewritten after every run so a killed series keeps what it measured."""
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
    points = [Point(r["name"], rev, r["mix"], r["method"], (r["source"],), alpha=run_alpha(r),
                    freeze=freeze_label(r.get("freeze")), metrics=summary_metrics(r["summary"]))
              for r in results["runs"]]
    if not points:
        return None
    rule = Decision(**(results.get("params") or {}).get("decision", {}))  # the profile's rule, else the defaults
    return copy_frontier(write_frontier(points, [], rule, work / "frontier"), out_dir)


def load_bench(path: Path, profile: str) -> dict:
    """The benchmark's params file, with `profile` one of its profiles."""
    bench = yaml.safe_load(path.read_text(encoding="utf-8"))
    if profile not in bench["profiles"]:
        raise click.BadParameter(f"'{profile}' is not one of {list(bench['profiles'])}", param_hint="--profile")
    return bench


def build_scratch(bench: dict, profile: str, domains: str, work: Path, opts: dict, first: dict,
                  log: Path) -> tuple[Path, dict, dict]:
    """Convert and subsample the data and build the scratch project with the first run's params; returns the
    project, the profile's params and the results skeleton."""
    names = ["Laptop"] if domains == "laptop" else list(DOMAINS)
    imported = work / "import"
    report = convert(names, imported, log, opts["shared"])
    train, test, sample = split_sample(load_comments(imported / "comments.jsonl"), bench["profiles"][profile]["sample"])
    base = profile_params(bench, profile, opts["model"])
    project = work / "repo"
    make_project(project, {"train": train, "test": test}, imported / "taxonomy.csv",
                 run_params(base, bench, first, opts["shared"]), log, opts["copy"], git=opts["executor"] == "dvc")
    results = {"profile": profile, "domains": names, "import": report, "sample": sample, "hardware": hardware(),
               "model": base["model"]["source"], "project_commit": head_commit(), "copy": opts["copy"],
               "executor": opts["executor"], "jobs": opts["jobs"] if opts["executor"] == "direct" else 1,
               "params": base, "runs": [], "failed": [], "wall_s": None, "frontier_png": None}
    return project, base, results


def direct_series(project: Path, runs: list[dict], params_of: Callable[[dict], dict], opts: dict, work: Path,
                  save: Callable[[dict], None], results: dict, started: float) -> None:
    """The series without DVC (direct.py): tasks `--jobs` at a time, results saved as each run completes."""
    logs = work / "logs"
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True)
    order = {r["name"]: i for i, r in enumerate(runs)}

    def done(run: dict, run_project: Path, wall: float, stages: list[str], error: str | None) -> None:
        if error:
            results["failed"].append({"name": run["name"], "error": error, "log": str(logs)})
            click.echo(f"[{run['name']}] FAILED: {error}", err=True)
        else:
            results["runs"].append(collect_run(run_project, run, wall, stages))
            results["runs"].sort(key=lambda r: order[r["name"]])
            click.echo(f"[{run['name']}] done in {wall:.0f} s: {len(stages)} stages ran")
        results["wall_s"] = round(time.perf_counter() - started, 1)
        save(results)

    run_series(project, runs, params_of, opts["jobs"], logs, done, opts["assets_from"])


def dvc_series(project: Path, runs: list[dict], params_of: Callable[[dict], dict], log: Path,
               save: Callable[[dict], None], results: dict, started: float) -> None:
    """One `dvc exp run` per run, one after the other; DVC's cache skips what an earlier run already made."""
    for run in runs:
        click.echo(f"[{run['name']}] dvc exp run (mix={run['mix']}, {run['method']}, source={run['source']}) ...")
        wall, stages = exp_run(project, params_of(run), run, log)
        results["runs"].append(collect_run(project, run, wall, stages))
        results["wall_s"] = round(time.perf_counter() - started, 1)
        save(results)
        click.echo(f"[{run['name']}] done in {wall:.0f} s: {len(stages)} stages ran")


def finish(results: dict, merged: bool, executor: str, project: Path, work: Path, out_dir: Path, log: Path) -> None:
    """The frontier and the final results; exit 1 when a run failed."""
    # dvc executor, one session: `voc frontier` over the scratch repo's experiments; else drawn from the results
    if executor == "dvc" and not merged:
        results["frontier_png"] = frontier(project, out_dir, log)
    else:
        results["frontier_png"] = frontier_from_results(results, work, out_dir)
    write_results(out_dir, results)
    click.echo(markdown_report(results))
    click.echo(f"results -> {out_dir / 'results.json'}, {out_dir / 'results.md'}; logs: {work}")
    if results["failed"]:
        sys.exit(1)


@click.command()
@click.option("--profile", default="cpu", show_default=True,
              help="a profile of --bench-params: smoke, cpu, cpu-long, gpu-smoke, gpu")
@click.option("--domains", type=click.Choice(["laptop", "all"]), default="laptop", show_default=True,
              help="laptop = MEMD Laptop only; all = the five MEMD domains (L1 = domain)")
@click.option("--work", type=click.Path(file_okay=False, path_type=Path), default=HERE / "work", show_default=True,
              help="scratch workspace (git-ignored); its project copy is rebuilt on every call")
@click.option("--runs", "run_names", help="comma-separated subset of the runs in params.yaml (default: all)")
@click.option("--model", type=click.Path(exists=True, file_okay=False), help="local HF model dir instead of the "
              "pinned SmolLM2 (e.g. a tiny test model for a plumbing check)")
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path),
              help="where results.json/.md and frontier.png go [default: benchmarks/memd, or WORK for smoke]")
@click.option("--copy", "copy_mode", type=click.Choice(["head", "worktree", "files"]), default="head",
              show_default=True, help="what the scratch project copies: the HEAD commit, the git working tree, "
              "or every file on disk (a device's copy of the checkout)")
@click.option("--bench-params", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=HERE / "params.yaml", show_default=True)
@click.option("--executor", type=click.Choice(["dvc", "direct"]), default="dvc", show_default=True,
              help="dvc = `dvc exp run` per run; direct = dvc.lock's commands without DVC (direct.py)")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="direct executor: stages at a time")
@click.option("--assets-from", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="direct executor: a folder with the download stage's built outputs (models/base, data/prepared/...)")
@click.option("--shared", type=click.Path(exists=True, file_okay=False, path_type=Path), default=SHARED,
              show_default=True, help="the shared data folder (holds data/memd_absa, data/general/lima.json)")
@click.option("--merge-with", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="results.json of an earlier session (same profile, domains, subsample): write the merge of both")
def main(profile: str, domains: str, work: Path, run_names: str | None, model: str | None, out_dir: Path | None,
         copy_mode: str, bench_params: Path, executor: str, jobs: int, assets_from: Path | None,
         shared: Path, merge_with: Path | None) -> None:
    """Run the MEMD-ABSA benchmark series in a scratch copy of the project and collect the results."""
    started = time.perf_counter()
    bench = load_bench(bench_params, profile)
    runs = select_runs(bench, run_names)
    earlier = read_json(merge_with) if merge_with else None  # read now: it may be the file this run rewrites
    order = [r["name"] for r in bench["runs"]]
    out_dir = out_dir or (work if profile.endswith("smoke") else HERE)
    for folder in (work, out_dir):
        folder.mkdir(parents=True, exist_ok=True)
    log = work / "run.log"
    log.write_text("")
    opts = {"shared": shared, "model": model, "copy": copy_mode, "executor": executor, "jobs": jobs,
            "assets_from": assets_from}
    project, base, results = build_scratch(bench, profile, domains, work, opts, runs[0], log)

    def with_earlier(res: dict) -> dict:
        """This session's results, merged into the earlier session's where --merge-with gave one."""
        return merge_sessions(earlier, res, order) if earlier is not None else res

    def params_of(run: dict) -> dict:
        return run_params(base, bench, run, shared)

    def save(res: dict) -> None:
        write_results(out_dir, with_earlier(res))

    if executor == "direct":
        direct_series(project, runs, params_of, opts, work, save, results, started)
    else:
        dvc_series(project, runs, params_of, log, save, results, started)
    results["wall_s"] = round(time.perf_counter() - started, 1)
    finish(with_earlier(results), earlier is not None, executor, project, work, out_dir, log)


if __name__ == "__main__":
    main()
