"""Run the benchmark series without DVC, for a machine that has none (the lent GPU box: no dvc, no network).

The commands are the project's own: dvc.yaml's `cmd`s, with `foreach` and `${...}` expanded as DVC expands them
(tests/unit/benchmarks/test_bench_direct.py checks the expansion against dvc.lock). What DVC's cache decides is
fixed here: the shared stages run once in a base project, and each run reruns exactly what
`dvc exp run -S mix=..` reruns (mix, decontam, sft, the SFT evaluations, report; `general` too when its source
differs). Independent runs go in parallel, each in its own copy of the project, so a small model keeps a big GPU
busy.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed, wait
from pathlib import Path

import yaml
from scratch import tool_env

SHARED_STAGES = ("prepare", "general")
BASE_EVALS = ("eval_voc@base", "eval_mmlu@base", "eval_general@base", "eval_probe@base")
RUN_STAGES = ("mix", "decontam", "sft", "eval_voc@sft", "eval_mmlu@sft", "eval_general@sft", "eval_probe@sft")
BASE_METRICS = ("voc_base.json", "mmlu_base.json", "general_base.json", "probe_base.json")
_VAR = re.compile(r"\$\{\s*([A-Za-z0-9_.]+)\s*\}")


def lookup(params: dict, dotted: str) -> object:
    node: object = params
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise KeyError(f"dvc.yaml uses ${{{dotted}}} but params.yaml has no '{dotted}'")
        node = node[part]
    return node


def interpolate(text: str, params: dict, item: str | None = None) -> str:
    def value(m: re.Match) -> str:
        key = m.group(1)
        return str(item) if key == "item" and item is not None else str(lookup(params, key))

    return _VAR.sub(value, text)


def stage_commands(dvc_yaml: dict, params: dict) -> dict[str, str]:
    """Stage name (`eval_voc@base` for foreach items) -> the shell command, in dvc.yaml order."""
    out = {}
    for name, stage in dvc_yaml["stages"].items():
        if "foreach" in stage:
            for item in stage["foreach"]:
                out[f"{name}@{item}"] = interpolate(stage["do"]["cmd"], params, item)
        else:
            out[name] = interpolate(stage["cmd"], params)
    return out


def run_stages(project: Path, names: Sequence[str], log: Path) -> list[str]:
    """Run the named stages' commands in `project` (params.yaml there), appending their output to `log`."""
    cmds = stage_commands(yaml.safe_load((project / "dvc.yaml").read_text()),
                          yaml.safe_load((project / "params.yaml").read_text()))
    for name in names:
        start = time.perf_counter()
        with log.open("a", encoding="utf-8") as f:
            f.write(f"\n$ [{name}] {cmds[name]}\n")
            f.flush()
            res = subprocess.run(cmds[name], shell=True, cwd=project, env=tool_env(project), stdout=f,
                                 stderr=subprocess.STDOUT)
            f.write(f"[{name}] exit {res.returncode} after {time.perf_counter() - start:.1f} s\n")
        if res.returncode != 0:
            raise RuntimeError(f"stage {name} failed ({res.returncode}) in {project}; see {log}")
    return list(names)


def link_assets(project: Path, assets: Path) -> None:
    """Use already built outputs of the `assets` stage (as dvc.yaml lists them) instead of running it."""
    outs = yaml.safe_load((project / "dvc.yaml").read_text())["stages"]["assets"]["outs"]
    for rel in outs:
        src = (assets / rel).resolve()
        if not src.exists():
            raise FileNotFoundError(f"{src} is missing: --assets-from needs {', '.join(outs)}")
        (project / rel).parent.mkdir(parents=True, exist_ok=True)
        (project / rel).symlink_to(src, target_is_directory=True)


def run_copy(base: Path, dest: Path, params_text: str, same_general: bool) -> None:
    """A run's project: the base project's code and params, its inputs linked (read-only), fresh outputs."""
    if dest.exists():
        shutil.rmtree(dest)
    top = {".git", "models", "data", "metrics", "checkpoints"}
    shutil.copytree(base, dest, ignore=lambda d, names: [n for n in names if Path(d) == base and n in top])
    for rel in ("models/base", "data/raw", "data/prepared") + (("data/general",) if same_general else ()):
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        (dest / rel).symlink_to((base / rel).resolve(), target_is_directory=True)
    (dest / "metrics").mkdir()
    (dest / "params.yaml").write_text(params_text)


def run_series(base: Path, runs: Sequence[dict], params_of: Callable[[dict], dict], jobs: int, logs: Path,
               on_done: Callable[[dict, Path, float, list[str], str | None], None]) -> None:
    """Base evaluations and every run, `jobs` at a time; `on_done(run, project, wall_s, stages, error)` per run.

    The base project has already run the shared stages with the first run's params. Base evaluations are
    submitted first, so a run waiting for them (its report needs them) never blocks their workers.
    """
    general_of_base = yaml.safe_load((base / "params.yaml").read_text())["general"]["sources"]

    def one(run: dict, base_futures: list[Future]) -> tuple[Path, float, list[str]]:
        start = time.perf_counter()
        params = params_of(run)
        same = params["general"]["sources"] == general_of_base
        project = base.parent / "runs" / run["name"]
        run_copy(base, project, yaml.safe_dump(params, sort_keys=False), same)
        log = logs / f"{run['name']}.log"
        stages = run_stages(project, ([] if same else ["general"]) + list(RUN_STAGES), log)
        for f in wait(base_futures).done:
            f.result()  # a failed base evaluation fails the report, with its own error
        for name in BASE_METRICS:
            shutil.copy(base / "metrics" / name, project / "metrics" / name)
        stages += run_stages(project, ["report"], log)
        return project, time.perf_counter() - start, stages

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        base_futures = [pool.submit(run_stages, base, [s], logs / f"base-{s.split('@')[0]}.log") for s in BASE_EVALS]
        futures = {pool.submit(one, run, base_futures): run for run in runs}
        for fut in as_completed(futures):
            run = futures[fut]
            try:
                project, wall, stages = fut.result()
                on_done(run, project, wall, stages, None)
            except Exception as e:  # noqa: BLE001 - one failed run is reported, the others go on
                on_done(run, base.parent / "runs" / run["name"], 0.0, [], f"{type(e).__name__}: {e}")
