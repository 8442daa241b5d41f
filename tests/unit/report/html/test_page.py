"""Pages voc writes itself and `dvc plots show` fill the same offline template (see .dvc/config)."""

from __future__ import annotations

from pathlib import Path

from configobj import ConfigObj

from voc.report.html.page import render_page
from voc.report.html.vendor import TEMPLATE

ROOT = Path(__file__).resolve().parents[4]


def test_render_page_puts_the_body_in_place_of_dvcs_placeholders():
    page = render_page('<div id="vis0"></div>')
    assert '<div id="vis0"></div>' in page and "{plot_divs}" not in page and "{refresh_tag}" not in page
    assert 'data-vendored="vega-embed@' in page and "<script src" not in page


def test_dvc_config_points_plain_dvc_plots_show_at_the_template():
    # DVC resolves a relative plots.html_template against the .dvc folder (dvc/commands/plots.py).
    template = ConfigObj(str(ROOT / ".dvc" / "config"))["plots"]["html_template"]
    assert (ROOT / ".dvc" / template).resolve() == TEMPLATE.resolve()
