"""Run the benchmark series without DVC: the air-gapped-cluster workflow (a GPU box with no internet and no dvc).

The commands are the ones dvc.lock recorded (lock.py), so nothing here re-implements DVC. What DVC's cache
decides is emulated from dvc.lock alone: the base project holds the first run's params and runs every stage, as
the first `dvc exp run` would; each later run gets its own project copy and reruns only the stages whose recorded
params it changes, and everything downstream of them, reading the other stages' outputs from the base project
through symlinks. No stage is named here; a renamed or added stage needs no change.

Every stage of every project is one task; tasks run `jobs` at a time, each as soon as the tasks it reads from
are done, so a small model keeps a big GPU busy. A failed task fails the runs that need it; the others go on.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import yaml

from benchmarks.memd.lock import (
    Stage,
    changed,
    check_current,
    command,
    downstream,
    flatten,
    overlap,
    read_lock,
    topo_order,
    upstream,
)
from benchmarks.memd.scratch import tool_env

Key = tuple[str | None, str]  # (run name, or None for the base project; stage)


@dataclass
class Task:
    """One stage's command in one project."""

    project: Path
    stage: str
    cmd: str
    needs: list[Key]
    log: Path
    span: tuple[float, float] | None = None  # perf_counter start and end, once run


@dataclass
class Member:
    """One run of the series: where its outputs are, the tasks it runs itself, the tasks its results need."""

    run: dict
    project: Path
    own: list[Key]
    needs: list[Key]
    reported: bool = False


def _read_by_others(stage: Stage, path: str, stages: dict[str, Stage]) -> bool:
    """Does another stage read `path` (one of `stage`'s outs)?"""
    return any(overlap(d, path) for s in stages.values() if s is not stage for d in s.deps)


def link_prebuilt(project: Path, stages: dict[str, Stage], assets: Path | None) -> set[str]:
    """Link the outs of first stages (those reading no other stage's outs: the downloads) that `assets` holds.

    A stage counts as built when every out another stage reads is there; one with some but not all is an error."""
    if assets is None:
        return set()
    up, built = upstream(stages), set()
    for stage in (stages[n] for n, ups in up.items() if not ups):
        read = [p for p in stage.outs if _read_by_others(stage, p, stages)]
        missing = [p for p in read if not (assets / p).exists()]
        if not read or len(missing) == len(read):
            continue
        if missing:
            raise FileNotFoundError(f"--assets-from {assets} lacks {', '.join(missing)} (outputs of {stage.name})")
        for rel in (p for p in stage.outs if (assets / p).exists()):
            (project / rel).parent.mkdir(parents=True, exist_ok=True)
            (project / rel).symlink_to((assets / rel).resolve(), target_is_directory=(assets / rel).is_dir())
        built.add(stage.name)
    return built


def run_copy(base: Path, dest: Path, params: dict, stages: dict[str, Stage], reused: set[str]) -> None:
    """A run's project: the base project's files but no stage outputs, the `reused` stages' outs linked to the base
    project's (they may not exist yet), and the run's params."""
    if dest.exists():
        shutil.rmtree(dest)
    outs = {p.rstrip("/") for s in stages.values() for p in s.outs}

    def ignore(folder: str, names: list[str]) -> list[str]:
        rel = Path(folder).relative_to(base)
        return [n for n in names if (rel / n).as_posix() in outs or (rel == Path(".") and n == ".git")]

    shutil.copytree(base, dest, ignore=ignore, symlinks=True)
    for rel in (p.rstrip("/") for s in reused for p in stages[s].outs):
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        (dest / rel).symlink_to((base / rel).absolute(), target_is_directory=(base / rel).is_dir())
    (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")


def plan(base: Path, stages: dict[str, Stage], runs: Sequence[dict], params_of: Callable[[dict], dict], logs: Path,
         built: set[str]) -> tuple[dict[Key, Task], list[Member]]:
    """The tasks of the base project and of every run (base first, each project's in dependency order), and the
    runs' project copies. The `built` stages' outs are already in the base project (link_prebuilt)."""
    up, order = upstream(stages), topo_order(stages)
    base_flat = flatten(yaml.safe_load((base / "params.yaml").read_text(encoding="utf-8")))
    check_current(stages, base_flat, base / "params.yaml")
    tasks = {(None, s): Task(base, s, command(stages[s], base_flat), [(None, u) for u in up[s] if u not in built],
                             logs / f"base-{s}.log") for s in order if s not in built}
    members = []
    for run in runs:
        params = params_of(run)
        flat = flatten(params)
        own = downstream(changed(stages, base_flat, flat), up)
        owner, project = (run["name"], base.parent / "runs" / run["name"]) if own else (None, base)
        if own:
            run_copy(base, project, params, stages, set(stages) - own)
        key = {s: (owner if s in own else None, s) for s in order if s in own or s not in built}
        for s in (s for s in order if s in own):
            tasks[key[s]] = Task(project, s, command(stages[s], flat), [key[u] for u in up[s] if u in key],
                                 logs / f"{owner}-{s}.log")
        members.append(Member(run, project, [k for k in key.values() if k[0] == owner], list(key.values())))
    return tasks, members


def run_task(task: Task) -> None:
    """The stage's command in its project, its output appended to the task's log."""
    start = time.perf_counter()
    with task.log.open("a", encoding="utf-8") as f:
        f.write(f"\n$ [{task.stage}] {task.cmd}\n")
        f.flush()
        res = subprocess.run(task.cmd, shell=True, cwd=task.project, env=tool_env(task.project), stdout=f,
                             stderr=subprocess.STDOUT)
        task.span = (start, time.perf_counter())
        f.write(f"[{task.stage}] exit {res.returncode} after {task.span[1] - start:.1f} s\n")
    if res.returncode != 0:
        raise RuntimeError(f"stage {task.stage} failed ({res.returncode}) in {task.project}; see {task.log}")


def execute(tasks: dict[Key, Task], jobs: int, progress: Callable[[set[Key], dict[Key, str]], None],
            runner: Callable[[Task], None] = run_task) -> dict[Key, str]:
    """Every task, `jobs` at a time, each once the tasks it needs are done; returns the failed ones' errors."""
    pending, running, done, failed = dict(tasks), {}, set(), {}
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        while pending or running:
            for key, task in list(pending.items()):
                if bad := next((n for n in task.needs if n in failed or n not in tasks), None):
                    failed[key] = f"needs {bad[1]} ({bad[0] or 'base'}), which failed: {failed.get(bad, 'no task')}"
                    del pending[key]
                elif len(running) < jobs and all(n in done for n in task.needs):
                    running[pool.submit(runner, task)] = key
                    del pending[key]
            if pending and not running:
                raise RuntimeError(f"tasks that can never start (their needs are no tasks): {list(pending)}")
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                key = running.pop(fut)
                if (err := fut.exception()) is None:
                    done.add(key)
                else:
                    failed[key] = f"{type(err).__name__}: {err}"
            progress(done, failed)
    return failed


def run_series(base: Path, runs: Sequence[dict], params_of: Callable[[dict], dict], jobs: int, logs: Path,
               on_done: Callable[[dict, Path, float, list[str], str | None], None],
               assets: Path | None = None) -> None:
    """The whole series; `on_done(run, project, wall_s, stages_run, error)` as each run's results are complete.

    A run's wall time spans the stages it ran itself, while sharing the device with the others."""
    stages = read_lock(base / "dvc.lock")
    built = link_prebuilt(base, stages, assets)
    tasks, members = plan(base, stages, runs, params_of, logs, built)

    def progress(done: set[Key], failed: dict[Key, str]) -> None:
        for m in (m for m in members if not m.reported and all(k in done or k in failed for k in m.needs)):
            m.reported = True
            spans = [tasks[k].span for k in m.own if tasks[k].span]
            wall = max(e for _, e in spans) - min(s for s, _ in spans) if spans else 0.0
            error = next((failed[k] for k in m.needs if k in failed), None)
            on_done(m.run, m.project, wall, [k[1] for k in m.own if k in done], error)

    progress(set(), {})  # a run that needs nothing (every stage prebuilt) is complete at once
    execute(tasks, jobs, progress)
