"""The plots pages render offline in a real browser: every plot draws a non-empty SVG or canvas.

DVC's own page loads vega from a CDN and renders blank on an air-gapped machine; the repo's template
(voc/report/html/plots.html, `plots.html_template` in .dvc/config) inlines the pinned libraries. Each page is opened
by Debian's headless Chromium (`make test` installs it) with every network request refused, and a probe script
reports, per `vegaEmbed` call, whether it resolved and how many pixels (canvas) or elements (SVG) its chart drew.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from voc.report.html.page import render_page

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.slow

# Wraps vegaEmbed (defined by the page's inlined scripts, before any plot div runs it) to collect each chart's
# promise; after `load` and all of them settle, writes what each drew into <pre id="voc-probe"> for --dump-dom.
PROBE = """
window.vocEmbeds = [];
if (window.vegaEmbed) {
  const embed = window.vegaEmbed;
  window.vegaEmbed = (el, spec, opts) => {
    const p = embed(el, spec, opts);
    window.vocEmbeds.push(p.then(() => ({el, ok: true}), (e) => ({el, ok: false, error: String(e)})));
    return p;
  };
}
function vocInk(host) {
  const svg = host.querySelector("svg.marks"), canvas = host.querySelector("canvas.marks");
  if (svg) return {kind: "svg", ink: svg.querySelectorAll("path, line, rect, text, circle").length};
  if (!canvas || !canvas.width || !canvas.height) return {kind: null, ink: 0};
  const px = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let ink = 0;  // pixels drawn darker than the white background
  for (let i = 0; i < px.length; i += 4) if (px[i + 3] > 0 && Math.min(px[i], px[i + 1], px[i + 2]) < 200) ink++;
  return {kind: "canvas", ink};
}
window.addEventListener("load", async () => {
  const results = await Promise.all(window.vocEmbeds);
  for (const r of results) Object.assign(r, vocInk(document.querySelector(r.el)));
  const out = document.createElement("pre");
  out.id = "voc-probe";
  out.textContent = JSON.stringify({vega: !!window.vega, results});
  document.body.appendChild(out);
});
"""
RESULT = re.compile(r'<pre id="voc-probe">(.*?)</pre>', re.DOTALL)


@pytest.fixture(scope="module")
def chromium() -> Path:
    """Debian's Chromium; CI (`make test`) installs it, so there a missing browser is a failure, not a skip."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing. Fix: `make browser` (apt-get install chromium).")
        pytest.skip(f"{CHROMIUM} is missing: `make browser` installs it")
    return CHROMIUM


def draw(chromium: Path, page: Path, tmp: Path) -> dict:
    """Open `page` (with the probe added) offline in headless Chromium and return the probe's report."""
    text = page.read_text(encoding="utf-8")
    head = text.rindex("</head>")  # the last one: an inlined library holds the string "</head>" too
    probed = tmp / "probed.html"
    probed.write_text(f"{text[:head]}<script>{PROBE}</script>\n{text[head:]}", encoding="utf-8")
    offline = ["--proxy-server=http://127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND"]
    cmd = [str(chromium), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", *offline,
           f"--user-data-dir={tmp / 'profile'}", "--virtual-time-budget=20000", "--dump-dom", probed.as_uri()]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    found = RESULT.search(res.stdout)
    assert found, f"no probe report (rc {res.returncode}): {res.stderr[-2000:]}"
    return json.loads(html.unescape(found.group(1)))


def blank(report: dict, expected: int) -> list[str]:
    """What is wrong with a page that should draw `expected` charts (empty when every one drew)."""
    problems = [] if report["vega"] else ["vega never loaded"]
    if len(report["results"]) != expected:
        problems.append(f"{len(report['results'])} charts embedded, {expected} declared")
    problems += [f"{r['el']}: {r.get('error') or 'drew nothing'}" for r in report["results"]
                 if not r["ok"] or r["kind"] not in ("svg", "canvas") or r["ink"] <= 0]
    return problems


def declared_plots() -> int:
    """Plots in dvc.yaml: the top-level section plus each stage's `plots` files."""
    spec = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    stages = sum(len((s.get("do") or s).get("plots") or []) for s in spec["stages"].values())
    return len(spec.get("plots") or []) + stages


@pytest.fixture
def plots_project(tmp_path: Path, run) -> Path:
    """A DVC project holding the repo's plot declarations, config, template and committed plot data."""
    proj = tmp_path / "proj"
    proj.mkdir()
    for f in ("dvc.yaml", "params.yaml", "voc/report/html/plots.html"):
        (proj / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / f, proj / f)
    shutil.copytree(ROOT / "metrics", proj / "metrics")
    run(["dvc", "init", "--no-scm", "-q"], proj)
    shutil.copy(ROOT / ".dvc" / "config", proj / ".dvc" / "config")
    return proj


def test_dvc_plots_show_draws_every_plot_offline(plots_project, run, chromium, tmp_path):
    """Plain `dvc plots show` (the template comes from .dvc/config) gives a page with no external script that
    draws every declared plot with the network off."""
    run(["dvc", "plots", "show", "-o", "out"], plots_project)
    page = plots_project / "out" / "index.html"
    assert "<script src" not in page.read_text(encoding="utf-8")
    report = draw(chromium, page, tmp_path)
    assert blank(report, declared_plots()) == [], report


def test_the_check_sees_dvcs_default_page_render_blank_offline(plots_project, run, chromium, tmp_path):
    """Without the template DVC's page loads vega from a CDN: offline nothing draws, and the check says so."""
    (plots_project / ".dvc" / "config").write_text("")
    run(["dvc", "plots", "show", "-o", "out"], plots_project)
    report = draw(chromium, plots_project / "out" / "index.html", tmp_path)
    assert blank(report, declared_plots())[0] == "vega never loaded"


def test_a_page_voc_renders_itself_draws_offline(chromium, tmp_path):
    """`render_page` (used for `voc frontier`'s HTML) fills the same template: its chart draws offline."""
    spec = {"$schema": "https://vega.github.io/schema/vega-lite/v5.json", "mark": "point",
            "data": {"values": [{"x": 0.1, "y": 0.9}, {"x": 0.3, "y": 0.7}]},
            "encoding": {"x": {"field": "x", "type": "quantitative"}, "y": {"field": "y", "type": "quantitative"}}}
    page = tmp_path / "page.html"
    page.write_text(render_page(f'<div id="vis0"></div>\n<script>vegaEmbed("#vis0", {json.dumps(spec)});</script>'),
                    encoding="utf-8")
    assert blank(draw(chromium, page, tmp_path), 1) == []
