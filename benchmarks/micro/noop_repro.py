"""A no-op `dvc repro` (everything cached) against the 5 s goal (issue 12, section 5), with `dvc status` and the
bare `dvc --version` start-up beside it, in one run on the same workspace.

    python -m benchmarks.micro.noop_repro                  # this checkout
    python -m benchmarks.micro.noop_repro --repo /tmp/x --repeat 5

It never reruns a stage: it first asks `dvc status`, and stops (exit 1, naming the changed stages) unless every
stage is up to date; each timed repro must then report nothing to run and leave dvc.lock unchanged.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import click

from benchmarks.micro.util import ROOT

GOAL_S = 5.0
DVC = [sys.executable, "-m", "dvc"]


def dvc(repo: Path, *args: str) -> tuple[float, str]:
    """Seconds and output of one dvc command (analytics off, so no network wait counts)."""
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    start = time.perf_counter()
    res = subprocess.run([*DVC, *args], cwd=repo, env=env, capture_output=True, text=True)
    secs = time.perf_counter() - start
    if res.returncode != 0:
        raise click.ClickException(f"dvc {' '.join(args)} failed in {repo}:\n{res.stdout}{res.stderr}")
    return secs, res.stdout + res.stderr


def lock_digest(repo: Path) -> str:
    return hashlib.sha256((repo / "dvc.lock").read_bytes()).hexdigest()


def summary(name: str, times: list[float]) -> str:
    return (f"  {name:>14}: median {statistics.median(times):5.2f} s, best {min(times):5.2f} s, "
            f"worst {max(times):5.2f} s over {len(times)} runs")


@click.command()
@click.option("--repo", type=click.Path(exists=True, file_okay=False, path_type=Path), default=ROOT,
              show_default=True, help="a DVC workspace whose outputs are all cached")
@click.option("--repeat", default=5, show_default=True, help="runs of each command")
def main(repo: Path, repeat: int) -> None:
    """Print the median/best/worst seconds of `dvc --version`, `dvc status` and a no-op `dvc repro`."""
    _, status = dvc(repo, "status", "--json")
    changed = json.loads(status.strip().splitlines()[-1] or "{}")
    if changed:
        raise click.ClickException(f"not a no-op: dvc status reports {sorted(changed)} changed in {repo}; "
                                   "run `dvc repro` (or `dvc checkout`) first, then time the no-op")
    before = lock_digest(repo)
    times: dict[str, list[float]] = {"dvc --version": [], "dvc status": [], "dvc repro": []}
    for _ in range(repeat):
        times["dvc --version"].append(dvc(repo, "--version")[0])
        times["dvc status"].append(dvc(repo, "status")[0])
        secs, out = dvc(repo, "repro")
        if "Running stage" in out or lock_digest(repo) != before:
            raise click.ClickException(f"dvc repro ran a stage or rewrote dvc.lock in {repo}:\n{out}")
        times["dvc repro"].append(secs)
    print(f"workspace: {repo} ({sum(1 for _ in (repo / 'dvc.lock').open())} dvc.lock lines)")
    for name, ts in times.items():
        print(summary(name, ts))
    worst = max(times["dvc repro"])
    verdict = "met" if worst <= GOAL_S else f"missed by {worst - GOAL_S:.2f} s"
    print(f"no-op dvc repro, worst of {repeat}: {worst:.2f} s; goal <= {GOAL_S:.0f} s: {verdict}")


if __name__ == "__main__":
    main()
