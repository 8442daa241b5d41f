"""The forgetting frontier: domain gain (leaf-F1) against general-ability retention, across DVC experiments.

Every experiment is read from `dvc exp show --json`; finished queued experiments appear there too (their
executor state is `success`). Each retention suite gets one plot with its Pareto front (maximise both axes),
written as a PNG, an HTML page of vega-lite specs (the engine `dvc plots` uses) and a markdown table.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import click

from voc.core.errors import VocError
from voc.core.files import atomic_path
from voc.report.summary import SUITES, read_summary

SUMMARY = "metrics/summary.json"
GAIN = "f1_gain"
# suite -> (summary key, axis title); a suite whose key is missing from every experiment gets no plot.
RETENTION = {s.key: (f"{s.key}_retention", s.axis) for s in SUITES if s.compare == "retention"}
METRICS = ("f1_base", "f1_sft", "f1_gain", "mmlu_base", "mmlu_sft", *(k for k, _ in RETENTION.values()), "nova_f1_sft")
UNFINISHED = {"queued", "running", "failed"}
# The same CDN scripts DVC's own HTML plots load (dvc_render.vega).
CDN = ["https://cdn.jsdelivr.net/npm/vega@5.20.2", "https://cdn.jsdelivr.net/npm/vega-lite@5.2.0",
       "https://cdn.jsdelivr.net/npm/vega-embed@6.18.2"]


@dataclass(frozen=True)
class Point:
    """One finished experiment (or commit / workspace) with its summary metrics."""

    name: str
    rev: str
    mix: float | None
    method: str | None
    sources: tuple[str, ...]
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """`mix=0.25 full`, plus the replay sources when they are not the default self-replay."""
        extra = f" ({'+'.join(self.sources)})" if self.sources and self.sources != ("replay",) else ""
        return f"mix={self.mix} {self.method}{extra}"


def exp_show(revs: Sequence[str] = (), all_commits: bool = False, repo: str | Path = ".") -> list[dict]:
    """Run `dvc exp show --json`: all commits (-A), the given --rev baselines, or else all branch tips (-a)."""
    args = [sys.executable, "-m", "dvc", "exp", "show", "--json"]
    if all_commits:
        args.append("--all-commits")
    elif revs:
        args += [a for rev in revs for a in ("--rev", rev)]
    else:
        args.append("--all-branches")
    proc = subprocess.run(args, cwd=repo, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise VocError(f"`{' '.join(args[2:])}` failed in {repo}: {proc.stderr.strip()[-2000:]}. "
                       "Fix: run it inside the DVC repo, with revisions that exist.")
    return json.loads(proc.stdout)


def short(rev: str) -> str:
    """A commit sha shortened to 7 characters; `workspace` and names stay whole."""
    return rev[:7] if len(rev) == 40 else rev


def _params(data: dict) -> dict:
    return ((data.get("params") or {}).get("params.yaml") or {}).get("data") or {}


def _summary(data: dict) -> dict | None:
    for path, entry in (data.get("metrics") or {}).items():
        if path.replace("\\", "/").endswith(SUMMARY) and isinstance((entry or {}).get("data"), dict):
            return entry["data"]
    return None


def summary_metrics(summary: dict) -> dict[str, float]:
    """The numeric frontier metrics of a summary.json (missing or non-numeric ones left out; old key names read
    as today's, so experiments from before a rename still compare)."""
    summary = read_summary(summary)
    return {k: float(summary[k]) for k in METRICS if isinstance(summary.get(k), int | float)}


def _point(name: str, rev: str, data: dict) -> Point | None:
    summary = _summary(data)
    if summary is None:
        return None
    params = _params(data)
    replay = params.get("replay") or params.get("general") or {}  # `general` before the rename
    sources = tuple(str(s.get("name")) for s in replay.get("sources") or [] if isinstance(s, dict))
    method = (params.get("sft") or {}).get("method", summary.get("method"))
    return Point(name, rev, params.get("mix", summary.get("mix")), method, sources, summary_metrics(summary))


def _entries(data: list[dict]) -> list[tuple[str, str, dict, str | None]]:
    """Flatten exp-show JSON into (name, rev, rev-record, executor state) for baselines and experiments."""
    out = []
    for base in data:
        out.append((base.get("name") or short(base["rev"]), base["rev"], base, None))
        for exp in base.get("experiments") or []:
            state = (exp.get("executor") or {}).get("state")
            for rec in exp.get("revs") or []:
                out.append((rec.get("name") or exp.get("name") or short(rec["rev"]), rec["rev"], rec, state))
    return out


def _same(a: Point, b: Point) -> bool:
    return (a.mix, a.method, a.sources, a.metrics) == (b.mix, b.method, b.sources, b.metrics)


def parse_points(data: list[dict]) -> tuple[list[Point], list[str]]:
    """Points from `dvc exp show --json`, and a note for each experiment skipped (unfinished, no metrics).

    Duplicates are dropped: the same rev listed twice, and the workspace when it equals a committed point.
    """
    points: dict[str, Point] = {}
    skipped: list[str] = []
    for name, rev, rec, state in _entries(data):
        if rev in points:
            continue
        if state in UNFINISHED:
            skipped.append(f"{name} ({short(rev)}): {state}")
            continue
        point = None if rec.get("error") else _point(name, rev, rec.get("data") or {})
        if point is None:
            skipped.append(f"{name} ({short(rev)}): no {SUMMARY}")
        else:
            points[rev] = point
    ws = points.get("workspace")
    if ws and any(_same(ws, p) for r, p in points.items() if r != "workspace"):
        del points["workspace"]
    return list(points.values()), skipped


def pareto_front(xy: Sequence[tuple[float | None, float | None]]) -> list[bool]:
    """True for each point no other point beats on both axes (>= on both, > on one); missing values: False."""
    full = [(x, y) for x, y in xy if x is not None and y is not None]
    return [
        x is not None and y is not None
        and not any(ox >= x and oy >= y and (ox > x or oy > y) for ox, oy in full)
        for x, y in xy
    ]


def suites(points: Sequence[Point]) -> dict[str, tuple[str, str]]:
    """The retention suites measured by at least one experiment."""
    return {s: kt for s, kt in RETENTION.items() if any(kt[0] in p.metrics for p in points)}


def fronts(points: Sequence[Point]) -> dict[str, list[bool]]:
    """Per suite, whether each point lies on that suite's Pareto front."""
    return {s: pareto_front([(p.metrics.get(GAIN), p.metrics.get(key)) for p in points])
            for s, (key, _) in suites(points).items()}


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def frontier_table(points: Sequence[Point]) -> str:
    """Markdown table, one row per experiment; `on front` lists the suites whose front the point is on."""
    on = fronts(points)
    keys = [k for k in (GAIN, *(k for k, _ in RETENTION.values()), "nova_f1_sft")
            if any(k in p.metrics for p in points)]
    head = ["name", "rev", "mix", "method", "replay sources", *keys, "on front"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for i, p in enumerate(points):
        marks = ", ".join(s for s, flags in on.items() if flags[i])
        cells = [p.name, short(p.rev), _fmt(p.mix), str(p.method), ", ".join(p.sources),
                 *(_fmt(p.metrics.get(k)) for k in keys), f"★ {marks}" if marks else ""]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def vega_lite_spec(points: Sequence[Point], suite: str) -> dict:
    """A layered vega-lite spec: points coloured by front membership, labels, and the front as a line."""
    key, title = RETENTION[suite]
    flags = pareto_front([(p.metrics.get(GAIN), p.metrics.get(key)) for p in points])
    values = [{"name": p.name, "rev": short(p.rev), "label": p.label, "mix": p.mix, "method": p.method,
               "f1_gain": p.metrics[GAIN], "retention": p.metrics[key], "front": flag}
              for p, flag in zip(points, flags, strict=True) if GAIN in p.metrics and key in p.metrics]
    x = {"field": "f1_gain", "type": "quantitative", "title": "Leaf-F1 gain (SFT - base)"}
    y = {"field": "retention", "type": "quantitative", "title": title, "scale": {"zero": False}}
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": f"Forgetting frontier: {title}",
        "width": 480, "height": 360,
        "data": {"values": values},
        "layer": [
            {"transform": [{"filter": "datum.front"}], "mark": {"type": "line", "color": "#d62728"},
             "encoding": {"x": x, "y": y, "order": {"field": "f1_gain", "type": "quantitative"}}},
            {"mark": {"type": "point", "filled": True, "size": 80},
             "encoding": {"x": x, "y": y,
                          "color": {"field": "front", "type": "nominal", "title": "Pareto front",
                                    "scale": {"domain": [True, False], "range": ["#d62728", "#7f7f7f"]}},
                          "tooltip": [{"field": f} for f in ("name", "rev", "mix", "method", "f1_gain",
                                                             "retention")]}},
            {"mark": {"type": "text", "align": "left", "dx": 7, "fontSize": 10},
             "encoding": {"x": x, "y": y, "text": {"field": "label"}}},
        ],
    }


def _js(obj: dict) -> str:
    """JSON that is safe inside a <script> element (no `</script>` can close it early)."""
    return json.dumps(obj).replace("<", "\\u003c")


def frontier_html(specs: Sequence[dict]) -> str:
    """A standalone page embedding each spec with its data inline (vega libraries from the CDN)."""
    scripts = "\n".join(f'<script src="{url}"></script>' for url in CDN)
    divs = "\n".join(f'<div id="vis{i}"></div>' for i in range(len(specs)))
    embeds = "\n".join(f"vegaEmbed('#vis{i}', {_js(spec)});" for i, spec in enumerate(specs))
    return (f'<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n<title>Forgetting frontier</title>\n'
            f"{scripts}\n</head>\n<body>\n{divs}\n<script>\n{embeds}\n</script>\n</body>\n</html>\n")


def shared_labels(points: Sequence[tuple[float, float, str]]) -> list[tuple[float, float, str]]:
    """One label per position: runs that land on the same point (common at small test sizes) share one label, a
    line per run, instead of printing over each other."""
    groups: dict[tuple[float, float], list[str]] = {}
    for x, y, label in points:
        groups.setdefault((round(x, 6), round(y, 6)), []).append(label)
    return [(x, y, "\n".join(labels)) for (x, y), labels in groups.items()]


def frontier_png(points: Sequence[Point], dest: Path) -> None:
    """One scatter per suite, labelled points, the front drawn as a red line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = suites(points)
    fig, axes = plt.subplots(1, max(len(shown), 1), figsize=(6 * max(len(shown), 1), 4.5), squeeze=False)
    for ax, (suite, (key, title)) in zip(axes[0], shown.items(), strict=False):
        pts = [p for p in points if GAIN in p.metrics and key in p.metrics]
        flags = pareto_front([(p.metrics[GAIN], p.metrics[key]) for p in pts])
        for p, on in zip(pts, flags, strict=True):
            ax.scatter(p.metrics[GAIN], p.metrics[key], color="#d62728" if on else "#7f7f7f", zorder=3)
        for x, y, label in shared_labels([(p.metrics[GAIN], p.metrics[key], p.label) for p in pts]):
            ax.annotate(label, (x, y), xytext=(5, 3), textcoords="offset points", fontsize=8)
        front = sorted((p.metrics[GAIN], p.metrics[key]) for p, on in zip(pts, flags, strict=True) if on)
        if front:
            ax.plot(*zip(*front, strict=True), color="#d62728", label="Pareto front")
            ax.legend(loc="best", fontsize=8)
        ax.set(xlabel="Leaf-F1 gain (SFT - base)", ylabel=title, title=suite)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(dest, dpi=120)
    plt.close(fig)


def write_frontier(points: Sequence[Point], skipped: Sequence[str], out_dir: str | Path) -> Path:
    """frontier.png, frontier.html and frontier.md, written together into `out_dir` (atomically)."""
    with atomic_path(out_dir) as tmp:
        tmp.mkdir()
        frontier_png(points, tmp / "frontier.png")
        specs = [vega_lite_spec(points, s) for s in suites(points)]
        (tmp / "frontier.html").write_text(frontier_html(specs), encoding="utf-8")
        notes = "".join(f"- skipped {s}\n" for s in skipped)
        text = f"# Forgetting frontier\n\n{frontier_table(points)}" + (f"\n{notes}" if notes else "")
        (tmp / "frontier.md").write_text(text, encoding="utf-8")
    return Path(out_dir)


@click.command("frontier")
@click.option("--rev", "revs", multiple=True, help="Baseline branch/commit (repeatable); default: all branches.")
@click.option("--all-commits", "-A", is_flag=True, help="Experiments of every commit (overrides --rev).")
@click.option("--out", default="metrics/frontier", show_default=True, type=click.Path())
@click.option("--repo", default=".", show_default=True, type=click.Path(exists=True, file_okay=False))
def frontier_cmd(revs: tuple[str, ...], all_commits: bool, out: str, repo: str) -> None:
    """Plot leaf-F1 gain against retention for every experiment and mark the Pareto front."""
    points, skipped = parse_points(exp_show(revs, all_commits, repo))
    for note in skipped:
        click.echo(f"frontier: skipped {note}", err=True)
    if not points:
        raise click.ClickException(f"no experiment has {SUMMARY}. Fix: run `dvc exp run` first.")
    click.echo(frontier_table(points), nl=False)
    click.echo(f"frontier: {len(points)} experiments -> {write_frontier(points, skipped, out)}")
