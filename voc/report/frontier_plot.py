"""The frontier drawn: one plot per retention measure, every experiment on it with its 95 % intervals as error
bars, a colour per training control (method, freezing, interpolation), a marker per replay source, a red ring
around each point on the Pareto front and a gold star on the recommended point. The front is not drawn as a
line: with intervals it is a set of points none of which is beaten beyond the noise, not a monotone curve.
PNG (matplotlib) and vega-lite (the engine `dvc plots` uses) show the same data.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from voc.report.frontier_data import Point, short
from voc.report.html.page import render_page
from voc.report.summary import SUITES

GAIN_TITLE = "Leaf-F1 gain (SFT - base)"
MARKERS = "o^sDvP*Xh<>"


AXES = {s.key: s.axis for s in SUITES if s.axis}


def axis_title(key: str) -> str:
    """A suite's own axis title (voc.report.summary.SUITES), or `General retention (SFT / base)`."""
    name = key.removesuffix("_retention")
    return AXES.get(name, f"{name.capitalize()} retention (SFT / base)")


def plot_rows(points: Sequence[Point], gain: str, key: str, front: Sequence[bool], best: Point | None) -> list[dict]:
    """One row per point that has both axes: value, interval, controls, front and recommendation flags."""
    rows = []
    for p, on in zip(points, front, strict=True):
        x, y = p.metrics.get(gain), p.metrics.get(key)
        if x is None or y is None:
            continue
        rows.append({"name": p.name, "rev": short(p.rev), "label": p.label, "mix": p.mix, "method": p.method,
                     "alpha": p.alpha, "freeze": p.freeze, "replay": p.replay, "control": p.control,
                     "gain": x.value, "gain_lo": x.bounds[0], "gain_hi": x.bounds[1],
                     "retention": y.value, "retention_lo": y.bounds[0], "retention_hi": y.bounds[1],
                     "front": on, "recommended": p is best})
    return rows


def vega_lite_spec(rows: Sequence[dict], key: str) -> dict:
    """Layers: x and y error bars, points (colour: control, shape: replay), a red ring on the front, the
    recommended point's star and the labels."""
    title = axis_title(key)
    x = {"field": "gain", "type": "quantitative", "title": GAIN_TITLE}
    y = {"field": "retention", "type": "quantitative", "title": title, "scale": {"zero": False}}
    tips = [{"field": f} for f in ("name", "rev", "mix", "method", "alpha", "freeze", "replay", "gain", "gain_lo",
                                   "gain_hi", "retention", "retention_lo", "retention_hi", "front", "recommended")]
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": f"Forgetting frontier: {title}",
        "width": 520, "height": 380,
        "data": {"values": list(rows)},
        "layer": [
            {"mark": {"type": "rule", "opacity": 0.5},
             "encoding": {"x": {**x, "field": "gain_lo"}, "x2": {"field": "gain_hi"}, "y": y,
                          "color": {"field": "control", "type": "nominal"}}},
            {"mark": {"type": "rule", "opacity": 0.5},
             "encoding": {"x": x, "y": {**y, "field": "retention_lo"}, "y2": {"field": "retention_hi"},
                          "color": {"field": "control", "type": "nominal"}}},
            {"mark": {"type": "point", "filled": True, "size": 90},
             "encoding": {"x": x, "y": y, "color": {"field": "control", "type": "nominal", "title": "control"},
                          "shape": {"field": "replay", "type": "nominal", "title": "replay source"},
                          "tooltip": tips}},
            {"transform": [{"filter": "datum.front"}],
             "mark": {"type": "circle", "size": 320, "filled": False, "color": "#d62728", "strokeWidth": 1.5},
             "encoding": {"x": x, "y": y}},
            {"transform": [{"filter": "datum.recommended"}],
             "mark": {"type": "point", "shape": "M0,-1L0.3,-0.3L1,-0.3L0.45,0.15L0.6,0.9L0,0.45L-0.6,0.9L-0.45,0.15"
                                                "L-1,-0.3L-0.3,-0.3Z",
                      "size": 700, "color": "#ffbf00", "strokeWidth": 2, "filled": False},
             "encoding": {"x": x, "y": y}},
            {"mark": {"type": "text", "align": "left", "dx": 8, "dy": -4, "fontSize": 10},
             "encoding": {"x": x, "y": y, "text": {"field": "label"}}},
        ],
    }


def _js(obj: dict) -> str:
    """JSON that is safe inside a <script> element (no `</script>` can close it early)."""
    return json.dumps(obj).replace("<", "\\u003c")


def frontier_html(specs: Sequence[dict]) -> str:
    """A standalone page embedding each spec with its data inline, in the offline plots template (vega, vega-lite
    and vega-embed inlined, as `dvc plots show` uses it): it renders with no network."""
    divs = "\n".join(f'<div id="vis{i}"></div>' for i in range(len(specs)))
    embeds = "\n".join(f"vegaEmbed('#vis{i}', {_js(spec)});" for i, spec in enumerate(specs))
    return render_page(f"<h1>Forgetting frontier</h1>\n{divs}\n<script>\n{embeds}\n</script>")


def shared_labels(points: Sequence[tuple[float, float, str]]) -> list[tuple[float, float, str]]:
    """One label per position: runs that land on the same point (common at small test sizes) share one label, a
    line per run, instead of printing over each other."""
    groups: dict[tuple[float, float], list[str]] = {}
    for x, y, label in points:
        groups.setdefault((round(x, 6), round(y, 6)), []).append(label)
    return [(x, y, "\n".join(labels)) for (x, y), labels in groups.items()]


def _draw(ax, rows: Sequence[dict], key: str) -> None:
    """One panel: error bars and markers per point, the front, the star, the labels."""
    colours = {c: f"C{i % 10}" for i, c in enumerate(dict.fromkeys(r["control"] for r in rows))}
    markers = {s: MARKERS[i % len(MARKERS)] for i, s in enumerate(dict.fromkeys(r["replay"] for r in rows))}
    seen: set[tuple[str, str]] = set()
    for r in rows:
        xerr = [[r["gain"] - r["gain_lo"]], [r["gain_hi"] - r["gain"]]]
        yerr = [[r["retention"] - r["retention_lo"]], [r["retention_hi"] - r["retention"]]]
        legend = (r["control"], r["replay"])
        ax.errorbar(r["gain"], r["retention"], xerr=xerr, yerr=yerr, fmt=markers[r["replay"]], capsize=3,
                    color=colours[r["control"]], alpha=0.9, zorder=3,
                    label=None if legend in seen else f"{r['control']} / {r['replay']}")
        seen.add(legend)
    front = [(r["gain"], r["retention"]) for r in rows if r["front"]]
    if front:
        ax.scatter(*zip(*front, strict=True), s=260, facecolor="none", edgecolor="#d62728", linewidth=1.5, zorder=4,
                   label="Pareto front (beyond the intervals)")
    for r in rows:
        if r["recommended"]:
            ax.scatter(r["gain"], r["retention"], marker="*", s=650, facecolor="none", edgecolor="#ffbf00",
                       linewidth=2, zorder=5, label="recommended")
    for x, y, label in shared_labels([(r["gain"], r["retention"], r["label"]) for r in rows]):
        ax.annotate(label, (x, y), xytext=(5, 3), textcoords="offset points", fontsize=7)
    ax.set(xlabel=GAIN_TITLE, ylabel=axis_title(key), title=key)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=7)


def frontier_png(panels: dict[str, list[dict]], dest) -> None:
    """One panel per retention measure, side by side, into a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = max(len(panels), 1)
    fig, axes = plt.subplots(1, n, figsize=(6.5 * n, 5), squeeze=False)
    for ax, (key, rows) in zip(axes[0], panels.items(), strict=False):
        _draw(ax, rows, key)
    fig.tight_layout()
    fig.savefig(dest, dpi=120)
    plt.close(fig)
