"""Rebuild plots.html's inlined vega libraries from the npm packages pinned in vendor.json.

Why inline: DVC's own page loads vega from a CDN and renders blank on an air-gapped machine. A DVC HTML template
can hold the scripts itself, so the page that `dvc plots show` writes is one self-contained file. Each script block
is the package file verbatim (sha256 in vendor.json), so anyone can check it against `npm pack name@version`.

    python -m voc.report.html.vendor            # re-pack the pinned versions, verify, rewrite plots.html
    python -m voc.report.html.vendor --check    # offline: plots.html's scripts match vendor.json's sha256

To upgrade, edit a version in vendor.json, set its integrity and sha256 to null, and rerun without --check.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import tarfile
import tempfile
from pathlib import Path

import click

from voc.core.errors import VocError

HERE = Path(__file__).parent
TEMPLATE = HERE / "plots.html"
MANIFEST = HERE / "vendor.json"
BLOCK = re.compile(r'<script data-vendored="(?P<name>[a-z-]+)(?:@(?P<version>[^"]*))?">\n(?P<body>.*?)</script>',
                   re.DOTALL)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def blocks(html: str) -> dict[str, tuple[str | None, str]]:
    """name -> (version, script text) of each vendored script block in a page."""
    return {m["name"]: (m["version"], m["body"]) for m in BLOCK.finditer(html)}


def embed(html: str, name: str, version: str, script: str) -> str:
    """`html` with the block of package `name` holding `script` (verbatim) and labelled `name@version`."""
    if "</script" in script.lower():
        raise VocError(f"{name}@{version}: the script contains `</script`, so it cannot be inlined. "
                       "Fix: pin another version.")
    hits = [m for m in BLOCK.finditer(html) if m["name"] == name]
    if len(hits) != 1:
        raise VocError(f"{TEMPLATE}: expected one `<script data-vendored=\"{name}\">` block, found {len(hits)}. "
                       "Fix: restore the block (an empty one is enough) and rerun.")
    m = hits[0]
    return f'{html[:m.start()]}<script data-vendored="{name}@{version}">\n{script}</script>{html[m.end():]}'


def check(html: str, manifest: dict) -> list[str]:
    """Problems (empty when none) between a page's vendored blocks and the manifest."""
    found, problems = blocks(html), []
    for pkg in manifest["packages"]:
        version, body = found.get(pkg["name"], (None, ""))
        if version != pkg["version"] or sha256(body) != pkg["sha256"]:
            problems.append(f"{pkg['name']}: the page has {version} sha256 {sha256(body)[:12]}, vendor.json pins "
                            f"{pkg['version']} sha256 {str(pkg['sha256'])[:12]}")
    return problems


def pack(name: str, version: str, member: str, dest: Path) -> tuple[str, str]:
    """(npm integrity of the tarball, text of `member` in it), fetched with the machine's npm."""
    proc = subprocess.run(["npm", "pack", f"{name}@{version}", "--json", "--pack-destination", str(dest)],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise VocError(f"`npm pack {name}@{version}` failed: {proc.stderr.strip()[-1000:]}. "
                       "Fix: check the version exists and npm can reach its registry.")
    info = json.loads(proc.stdout)[0]
    with tarfile.open(dest / info["filename"]) as tar:
        raw = tar.extractfile(member)
        if raw is None:
            raise VocError(f"{name}@{version} has no {member}. Fix: point `file` in {MANIFEST} at its build.")
        return info["integrity"], raw.read().decode("utf-8")


@click.command()
@click.option("--check", "check_only", is_flag=True, help="Only verify plots.html against vendor.json (offline).")
def main(check_only: bool) -> None:
    """Re-pack the pinned vega libraries and inline them into plots.html (or only check that it matches)."""
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    html = TEMPLATE.read_text(encoding="utf-8")
    if not check_only:
        with tempfile.TemporaryDirectory() as tmp:
            for pkg in manifest["packages"]:
                integrity, script = pack(pkg["name"], pkg["version"], pkg["file"], Path(tmp))
                if pkg["integrity"] not in (None, integrity):
                    raise VocError(f"{pkg['name']}@{pkg['version']}: npm integrity {integrity} differs from the "
                                   f"pinned {pkg['integrity']}. Fix: find out why before trusting the new file.")
                pkg.update(integrity=integrity, sha256=sha256(script))
                html = embed(html, pkg["name"], pkg["version"], script)
        TEMPLATE.write_text(html, encoding="utf-8")
        MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    problems = check(html, manifest)
    if problems:
        raise click.ClickException("; ".join(problems))
    click.echo(f"{TEMPLATE.name}: " + ", ".join(f"{p['name']}@{p['version']}" for p in manifest["packages"]))


if __name__ == "__main__":
    main()
