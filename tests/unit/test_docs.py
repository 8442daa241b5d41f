"""Every path and `voc.` name that README.md and docs/*.md cite exists (issue 11: the docs cite the new paths).

A renamed module, stage script or output otherwise leaves the docs pointing at nothing, and no other test
notices. A cited output (metrics/, models/, data/ but data/raw/) counts when dvc.yaml declares it (or a folder
holding it), whatever an older run left on disk; any other cited path must be in the tree. Placeholders
(`<task>`, `${item}`, `*`) and brace lists (`{base,sft}`) are read as globs. The check is static (no imports),
so it runs in the fast suite.
"""

from __future__ import annotations

import ast
import re
from fnmatch import fnmatch
from functools import cache
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Folders whose paths a doc may cite; a path elsewhere (a user's own file, `.assets/`) is not checked.
TOP = ("voc/", "stages/", "metrics/", "data/", "models/", "benchmarks/", "tests/", "configs/", "docs/",
       "requirements/")
OUTPUTS = ("metrics/", "models/", "data/")
INPUTS = ("data/raw/",)
# Written by a command rather than a dvc.yaml stage.
ELSEWHERE = {"metrics/frontier": "`voc frontier --out` (its default)"}
CODE = re.compile(r"`([^`\s]+)`")
NAME = re.compile(r"voc(\.\w+)+")


def cited(text: str) -> list[str]:
    """Every inline-code token without spaces (commands and prose in backticks hold spaces)."""
    return CODE.findall(text)


def expand_braces(path: str) -> list[str]:
    """`a/{b,c}.json` -> `a/b.json`, `a/c.json` (nested and repeated lists too)."""
    m = re.search(r"\{([^{}$]*)\}", path)
    if m is None:
        return [path]
    return [p for alt in m.group(1).split(",") for p in expand_braces(path[:m.start()] + alt + path[m.end():])]


def as_glob(path: str) -> str:
    """Placeholders (`<task>`, `${item}`) become `*`; a trailing `/` (a folder) is dropped."""
    return re.sub(r"<[^<>]*>|\$\{[^}]*\}", "*", path).rstrip("/")


@cache
def dvc_outputs() -> tuple[str, ...]:
    """Every outs / metrics / plots path of dvc.yaml, one per `foreach` item."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    out = []
    for stage in stages.values():
        body = stage.get("do", stage)
        each = stage.get("foreach", [None])
        for name, item in each.items() if isinstance(each, dict) else zip(each, each, strict=True):
            for key in ("outs", "metrics", "plots"):
                for entry in body.get(key) or []:
                    path = next(iter(entry)) if isinstance(entry, dict) else entry
                    out.append(path.replace("${item}", str(item)).replace("${key}", str(name)).rstrip("/"))
    return tuple(out)


def path_exists(path: str) -> bool:
    """A pipeline output (metrics/, models/, data/ but the shipped data/raw/) must be a dvc.yaml output, lie
    inside one or be a folder holding one: the files on disk may be a previous run's, under names the pipeline
    no longer writes. Anything else must be in the tree."""
    if f"{path}/".startswith(OUTPUTS) and not f"{path}/".startswith(INPUTS):
        return any(fnmatch(out, path) or fnmatch(path, f"{out}/*") or fnmatch(out, f"{path}/*")
                   for out in (*dvc_outputs(), *ELSEWHERE))
    return any(ROOT.glob(path)) if "*" in path else (ROOT / path).exists()


def _top_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def name_exists(dotted: str) -> bool:
    """`voc.a.b` is a module or package; `voc.a.b.f` is also fine when module `voc.a.b` defines `f` at top level."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        base = ROOT.joinpath(*parts[:cut])
        source = next((p for p in (base.with_suffix(".py"), base / "__init__.py") if p.is_file()), None)
        if source is None:
            continue
        rest = parts[cut:]
        return not rest or (len(rest) == 1 and rest[0] in _top_names(ast.parse(source.read_text(encoding="utf-8"))))
    return False


def stale(text: str) -> list[str]:
    """The cited paths and `voc.` names of one document that exist nowhere."""
    bad = []
    for token in cited(text):
        if NAME.fullmatch(token):
            ok = name_exists(token)
        elif token.startswith(TOP):
            ok = all(path_exists(as_glob(p)) for p in expand_braces(token))
        else:
            continue
        if not ok:
            bad.append(token)
    return bad


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_docs_cite_only_what_exists(doc: Path) -> None:
    bad = stale(doc.read_text(encoding="utf-8"))
    assert not bad, f"{doc.relative_to(ROOT)} cites what no longer exists: {bad}. Fix: cite the current path"


def test_the_check_catches_a_stale_citation() -> None:
    """The check itself: old names fail, current ones, outputs, placeholders and brace lists pass."""
    assert stale("`data/prepared/general_eval` `metrics/general_{base,sft}.json` `stages/general.py` "
                 "`voc.eval.predictions.no_such` `voc/io.py`") == [
        "data/prepared/general_eval", "metrics/general_{base,sft}.json", "stages/general.py",
        "voc.eval.predictions.no_such", "voc/io.py"]
    assert stale("`data/prepared/tasks/<task>.<split>.jsonl` `metrics/tasks_{base,sft}.json` `metrics/voc_*/` "
                 "`metrics/sft/plots/metrics/loss.tsv` `voc/eval/predictions.py` `voc.eval.predictions.parse_row` "
                 "`tests/unit/<package>/` `voc.data.spans`") == []
