"""What the `merge` stage costs (issue 14 §1): the default alpha 1 (a byte copy of models/sft) against a hardlink of
the same files, and a real interpolation (alpha 0.5), in one run on the same two model folders.

    python -m benchmarks.micro.merge                                 # models/base and models/sft (the demo)
    python -m benchmarks.micro.merge --repeat 5

Each side writes into a temp folder beside the models (same file system, as the stage does) and is timed as the
fastest of `--repeat` calls after one warm-up call, so the page cache is warm for every side. The hardlink is the
alternative the stage does not take: it would save the copy's time but share one inode between models/sft and
models/merged, so anything writing one file in place would change both.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import click

from benchmarks.micro.util import ROOT, best_time, machine
from voc.model.merge import merge_models


def hardlink(src: Path, dest: Path) -> None:
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir()
    for p in src.iterdir():
        os.link(p, dest / p.name)


@click.command()
@click.option("--base", default=str(ROOT / "models/base"), type=click.Path(exists=True, file_okay=False))
@click.option("--sft", default=str(ROOT / "models/sft"), type=click.Path(exists=True, file_okay=False))
@click.option("--repeat", default=3, show_default=True, type=click.IntRange(1))
def main(base: str, sft: str, repeat: int) -> None:
    size = sum(p.stat().st_size for p in Path(sft).iterdir()) / 2**20
    work = Path(tempfile.mkdtemp(prefix=".bench-merge-", dir=Path(sft).parent))
    try:
        times = {
            "alpha 1 (copy, the stage)": best_time(lambda: merge_models(base, sft, work / "copy", 1.0), repeat)[0],
            "hardlink (not taken)": best_time(lambda: hardlink(Path(sft), work / "link"), repeat)[0],
            "alpha 0.5 (interpolation)": best_time(lambda: merge_models(base, sft, work / "half", 0.5), repeat)[0],
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    click.echo(f"machine: {machine()}")
    click.echo(f"model: {sft} ({size:.0f} MiB), best of {repeat} after a warm-up")
    for name, seconds in times.items():
        click.echo(f"{name:28s} {seconds:8.3f} s")
    copy = times["alpha 1 (copy, the stage)"]
    click.echo(f"copy / hardlink: {copy / times['hardlink (not taken)']:.1f}x; "
               f"interpolation / copy: {times['alpha 0.5 (interpolation)'] / copy:.1f}x")


if __name__ == "__main__":
    main()
