"""The inlined vega libraries are the pinned npm files, verbatim, and nothing in the template reaches a network."""

from __future__ import annotations

import json

import pytest

from voc.core.errors import VocError
from voc.report.html.vendor import MANIFEST, TEMPLATE, blocks, check, embed, main, sha256

PAGE = '<head>\n<script data-vendored="vega">\n</script>\n<script data-vendored="vega-lite@1.0.0">\nold\n</script>\n'


def test_the_committed_template_holds_exactly_the_pinned_files():
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    html = TEMPLATE.read_text(encoding="utf-8")
    assert check(html, manifest) == []
    assert [p["name"] for p in manifest["packages"]] == ["vega", "vega-lite", "vega-embed"]
    assert all(p["license"] == "BSD-3-Clause" and p["integrity"].startswith("sha512-") for p in manifest["packages"])


def test_the_template_loads_nothing_from_a_network():
    html = TEMPLATE.read_text(encoding="utf-8")
    assert "<script src" not in html.lower()
    # DVC fills {scripts} with its CDN tags: the template must not offer the placeholder; {plot_divs} it needs.
    assert "{scripts}" not in html and html.count("{plot_divs}") == 1


def test_check_names_a_block_that_differs_from_its_pin():
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    html = TEMPLATE.read_text(encoding="utf-8")
    tampered = html.replace("vega@5", "vega@4", 1)
    assert check(tampered, manifest)[0].startswith("vega: the page has 4")
    body = blocks(html)["vega-embed"][1]
    assert check(html.replace(body, body + ";"), manifest)[0].startswith("vega-embed:")


def test_embed_replaces_only_its_own_block_verbatim():
    out = embed(PAGE, "vega-lite", "2.0.0", "new();\n")
    assert blocks(out) == {"vega": (None, ""), "vega-lite": ("2.0.0", "new();\n")}
    assert out.startswith('<head>\n<script data-vendored="vega">\n</script>\n') and sha256("new();\n") == sha256(
        blocks(out)["vega-lite"][1])


def test_embed_refuses_a_script_that_would_close_its_block_or_a_missing_block():
    with pytest.raises(VocError, match="cannot be inlined"):
        embed(PAGE, "vega", "1.0.0", "x = '</SCRIPT>';")
    with pytest.raises(VocError, match="found 0"):
        embed(PAGE, "vega-embed", "1.0.0", "x();")


def test_check_only_passes_offline_on_the_committed_files(monkeypatch):
    monkeypatch.setattr("voc.report.html.vendor.pack", lambda *a: pytest.fail("--check must not call npm"))
    with pytest.raises(SystemExit) as done:
        main(["--check"])
    assert done.value.code == 0
