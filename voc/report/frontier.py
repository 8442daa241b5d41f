"""The forgetting frontier: domain gain (leaf-F1) against general-ability retention, across DVC experiments, with
the recommended experiment named.

`voc frontier` writes one plot per retention measure (general first) with every experiment on it, its Pareto
front drawn with the intervals (a point is dominated only when another is better beyond them), the recommended
point, a PNG, an HTML page of vega-lite specs and a markdown table; `voc compare` prints the decision table.
Reading experiments: voc.report.frontier_data; the rule: voc.report.decision; drawing: voc.report.frontier_plot.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import click

from voc.core.files import atomic_path
from voc.core.params import load_params
from voc.core.schema import Decision
from voc.report.decision import RECOMMENDED, Verdict, decide, gain_over_baseline, recommendation
from voc.report.frontier_data import RETENTIONS, SUMMARY, Estimate, Point, exp_show, parse_points, short
from voc.report.frontier_plot import frontier_html, frontier_png, plot_rows, vega_lite_spec

Pair = tuple[Estimate | float | None, Estimate | float | None]


def _est(v: Estimate | float | None) -> Estimate | None:
    return v if isinstance(v, Estimate) or v is None else Estimate(float(v))


def _beats(b: tuple[Estimate, Estimate], a: tuple[Estimate, Estimate]) -> bool:
    """b dominates a: at least as good on both axes, and on one axis its whole interval lies above a's."""
    at_least = all(bv.value >= av.value for bv, av in zip(b, a, strict=True))
    return at_least and any(bv.bounds[0] > av.bounds[1] for bv, av in zip(b, a, strict=True))


def pareto_front(xy: Sequence[Pair]) -> list[bool]:
    """True for each point no other point dominates beyond the intervals (both axes maximised).

    Another point dominates this one when it is at least as good on both axes and its interval lies wholly
    above this one's on at least one; without intervals that is the classic rule (>= on both, > on one).
    A point missing either axis is not on the front."""
    pts = [(_est(x), _est(y)) for x, y in xy]
    full = [p for p in pts if p[0] is not None and p[1] is not None]
    return [p[0] is not None and p[1] is not None and not any(_beats(o, p) for o in full) for p in pts]


def retentions(points: Sequence[Point]) -> list[str]:
    """The retention keys at least one experiment measured (general first: the headline)."""
    return [f"{r}_retention" for r in RETENTIONS if any(f"{r}_retention" in p.metrics for p in points)]


def fronts(points: Sequence[Point], gain: str = "f1_gain") -> dict[str, list[bool]]:
    """Per retention key, whether each point lies on that key's front."""
    return {k: pareto_front([(p.metrics.get(gain), p.metrics.get(k)) for p in points]) for k in retentions(points)}


def _cells(rows: list[list[str]], head: list[str]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _opt(e: Estimate | None) -> str:
    return "" if e is None else e.fmt()


def _controls(points: Sequence[Point]) -> tuple[bool, bool]:
    """Whether any point sets merge.alpha / sft.freeze (their columns are shown only then)."""
    return any(p.alpha != 1 for p in points), any(p.freeze != "none" for p in points)


def frontier_table(points: Sequence[Point], verdicts: Sequence[Verdict], gain: str = "f1_gain") -> str:
    """Markdown table, one row per experiment: controls, gain and each retention with intervals, the fronts the
    point is on, and its verdict."""
    on, keys = fronts(points, gain), retentions(points)
    alpha, freeze = _controls(points)
    head = ["name", "rev", "mix", "method", *(["alpha"] if alpha else []), *(["freeze"] if freeze else []),
            "replay sources", gain, *keys, "on front", "verdict"]
    rows = []
    for i, (p, v) in enumerate(zip(points, verdicts, strict=True)):
        marks = ", ".join(k.removesuffix("_retention") for k, flags in on.items() if flags[i])
        rows.append([p.name, short(p.rev), f"{p.mix}", str(p.method), *([f"{p.alpha:g}"] if alpha else []),
                     *([p.freeze] if freeze else []), ", ".join(p.sources), _opt(p.metrics.get(gain)),
                     *(_opt(p.metrics.get(k)) for k in keys), f"★ {marks}" if marks else "", v.status])
    return _cells(rows, head)


def compare_table(points: Sequence[Point], verdicts: Sequence[Verdict], rule: Decision) -> str:
    """The decision table: per experiment mix, method, (alpha, freeze), leaf F1, gain, gain over the best
    baseline and the rule's retention, each with its interval, and the verdict."""
    alpha, freeze = _controls(points)
    keep = f"{rule.retention}_retention"
    head = ["name", "mix", "method", *(["alpha"] if alpha else []), *(["freeze"] if freeze else []), "replay",
            f"{rule.gain} (sft)", f"{rule.gain} gain", "vs best baseline", keep, "verdict"]
    rows = []
    for p, v in zip(points, verdicts, strict=True):
        over = gain_over_baseline(p)
        rows.append([p.name, f"{p.mix}", str(p.method), *([f"{p.alpha:g}"] if alpha else []),
                     *([p.freeze] if freeze else []), p.replay, _opt(p.metrics.get(f"{rule.gain}_sft")),
                     _opt(p.metrics.get(f"{rule.gain}_gain")), "" if over is None else f"{over[1]:+.3f} ({over[0]})",
                     _opt(p.metrics.get(keep)), ("★ " if v.status == RECOMMENDED else "") + v.status])
    return _cells(rows, head)


def write_frontier(points: Sequence[Point], skipped: Sequence[str], rule: Decision, out_dir: str | Path,
                   verdicts: Sequence[Verdict] | None = None) -> Path:
    """frontier.png, frontier.html and frontier.md, written together into `out_dir` (atomically); `verdicts` are
    `decide(points, rule)`, passed in where the caller has them already."""
    verdicts = decide(points, rule) if verdicts is None else verdicts
    best = next((v.point for v in verdicts if v.status == RECOMMENDED), None)
    gain = f"{rule.gain}_gain"
    panels = {k: plot_rows(points, gain, k, flags, best) for k, flags in fronts(points, gain).items()}
    with atomic_path(out_dir) as tmp:
        tmp.mkdir()
        frontier_png(panels, tmp / "frontier.png")
        specs = [vega_lite_spec(rows, k) for k, rows in panels.items()]
        (tmp / "frontier.html").write_text(frontier_html(specs), encoding="utf-8")
        notes = "".join(f"- skipped {s}\n" for s in skipped)
        text = (f"# Forgetting frontier\n\n{frontier_table(points, verdicts, gain)}\n"
                f"{recommendation(verdicts, rule)}" + (f"\n{notes}" if notes else ""))
        (tmp / "frontier.md").write_text(text, encoding="utf-8")
    return Path(out_dir)


def read_rule(params: str | None, repo: str) -> Decision:
    """The `decision:` rule from the params file (default: the repo's params.yaml; its defaults without one)."""
    path = Path(params) if params else Path(repo) / "params.yaml"
    if params is None and not path.exists():
        return Decision()
    return load_params(path, "decision").decision


def _read(revs: tuple[str, ...], all_commits: bool, repo: str) -> tuple[list[Point], list[str]]:
    points, skipped = parse_points(exp_show(revs, all_commits, repo))
    for note in skipped:
        click.echo(f"frontier: skipped {note}", err=True)
    if not points:
        raise click.ClickException(f"no experiment has {SUMMARY}. Fix: run `dvc exp run` first.")
    return points, skipped


def _options(f: Callable) -> Callable:
    """The options `frontier` and `compare` share: which experiments, which repo, which rule."""
    f = click.option("--params", default=None, type=click.Path(exists=True, dir_okay=False),
                     help="params file with the decision: rule [default: <repo>/params.yaml]")(f)
    f = click.option("--repo", default=".", show_default=True, type=click.Path(exists=True, file_okay=False))(f)
    f = click.option("--all-commits", "-A", is_flag=True, help="Experiments of every commit (overrides --rev).")(f)
    return click.option("--rev", "revs", multiple=True,
                        help="Baseline branch/commit (repeatable); default: all branches.")(f)


@click.command("frontier")
@_options
@click.option("--out", default="metrics/frontier", show_default=True, type=click.Path())
def frontier_cmd(revs: tuple[str, ...], all_commits: bool, repo: str, params: str | None, out: str) -> None:
    """Plot leaf-F1 gain against retention for every experiment, mark the Pareto front and the recommended one."""
    rule = read_rule(params, repo)
    points, skipped = _read(revs, all_commits, repo)
    verdicts = decide(points, rule)
    click.echo(frontier_table(points, verdicts, f"{rule.gain}_gain") + "\n" + recommendation(verdicts, rule), nl=False)
    click.echo(f"frontier: {len(points)} experiments -> {write_frontier(points, skipped, rule, out, verdicts)}")


@click.command("compare")
@_options
def compare_cmd(revs: tuple[str, ...], all_commits: bool, repo: str, params: str | None) -> None:
    """Print the decision table: every experiment with intervals, its verdict, and the recommended one."""
    rule = read_rule(params, repo)
    points, _ = _read(revs, all_commits, repo)
    verdicts = decide(points, rule)
    click.echo(compare_table(points, verdicts, rule) + "\n" + recommendation(verdicts, rule), nl=False)
