"""Drawing the frontier: error bars, a colour per control and a marker per replay source, the front, the star."""

from __future__ import annotations

from pathlib import Path

import pytest

from voc.report.frontier_data import Estimate, Point
from voc.report.frontier_plot import frontier_html, frontier_png, plot_rows, shared_labels, vega_lite_spec


def pt(name: str, gain: float, keep: float | None, **kw) -> Point:
    metrics = {"f1_gain": Estimate(gain, gain - 0.05, gain + 0.04)}
    if keep is not None:
        metrics["general_retention"] = Estimate(keep, keep - 0.02, keep + 0.03, 0.4)
    return Point(name, name[0] * 40, 0.1, kw.pop("method", "full"), kw.pop("sources", ("replay",)), metrics=metrics,
                 **kw)


POINTS = [pt("a", 0.3, 0.95), pt("b", 0.2, 0.99, method="lora", sources=("synth",)), pt("c", 0.1, None),
          pt("d", 0.25, 0.9, alpha=0.5, freeze="layers=2")]


def rows() -> list[dict]:
    return plot_rows(POINTS, "f1_gain", "general_retention", [True, True, False, False], POINTS[1])


def test_rows_hold_intervals_controls_and_flags_only_for_points_with_both_axes() -> None:
    r = rows()
    assert [x["name"] for x in r] == ["a", "b", "d"]
    assert (r[0]["gain_lo"], r[0]["gain_hi"], r[0]["retention_hi"]) == pytest.approx((0.25, 0.34, 0.98))
    assert [(x["control"], x["replay"]) for x in r] == [("full", "replay"), ("lora", "synth"),
                                                        ("full, freeze, merged", "replay")]
    assert [(x["front"], x["recommended"]) for x in r] == [(True, False), (True, True), (False, False)]


def test_vega_lite_spec_draws_error_bars_the_front_ring_and_the_recommended_star() -> None:
    spec = vega_lite_spec(rows(), "general_retention")
    assert spec["$schema"].endswith("vega-lite/v5.json")
    assert spec["title"] == "Forgetting frontier: General retention (SFT / base)"
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    assert marks == ["rule", "rule", "point", "circle", "point", "text"]
    assert spec["layer"][0]["encoding"]["x2"] == {"field": "gain_hi"}
    assert spec["layer"][1]["encoding"]["y2"] == {"field": "retention_hi"}
    assert spec["layer"][2]["encoding"]["color"]["field"] == "control"
    assert spec["layer"][2]["encoding"]["shape"]["field"] == "replay"
    assert spec["layer"][3]["transform"] == [{"filter": "datum.front"}]
    assert spec["layer"][4]["transform"] == [{"filter": "datum.recommended"}]
    page = frontier_html([spec, spec])
    assert page.count("vegaEmbed('#vis") == 2 and 'data-vendored="vega-lite@5' in page  # offline: inlined
    assert "<script src" not in page and "{plot_divs}" not in page


def test_html_cannot_be_closed_by_a_name() -> None:
    evil = [pt("</script><b>", 0.1, 0.9)]
    spec = vega_lite_spec(plot_rows(evil, "f1_gain", "general_retention", [True], None), "general_retention")
    assert "</script><b>" not in frontier_html([spec])


def test_png_draws_every_panel(tmp_path: Path) -> None:
    dest = tmp_path / "f.png"
    frontier_png({"general_retention": rows(), "mmlu_retention": rows()[:1]}, dest)
    assert dest.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    frontier_png({}, tmp_path / "empty.png")  # no measure at all: an empty figure, not a crash
    assert (tmp_path / "empty.png").exists()


def test_runs_on_the_same_point_share_one_label() -> None:
    pts = [(0.36, 1.0, "mix=0.0 full"), (0.12, 1.0, "mix=0.0 lora"), (0.36, 1.0000000001, "mix=0.5 full")]
    assert shared_labels(pts) == [(0.36, 1.0, "mix=0.0 full\nmix=0.5 full"), (0.12, 1.0, "mix=0.0 lora")]
