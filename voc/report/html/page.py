"""Fill the offline plots template (plots.html) for pages voc writes itself, such as `voc frontier`'s HTML.

`dvc plots show` fills the same file (it is `plots.html_template` in .dvc/config), so both pages render with
the same pinned, inlined vega libraries and neither needs a network.
"""

from __future__ import annotations

from voc.report.html.vendor import TEMPLATE

# DVC's placeholders (dvc_render.html): the plot elements, and the auto-refresh tag, empty for a static page.
PLOTS, REFRESH = "{plot_divs}", "{refresh_tag}"


def render_page(body: str) -> str:
    """The template with `body` (divs and the scripts that embed specs with `vegaEmbed`) in place of the plots."""
    return TEMPLATE.read_text(encoding="utf-8").replace(REFRESH, "").replace(PLOTS, body)
