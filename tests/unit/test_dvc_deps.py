"""dvc.yaml lists, for every stage, every project module its script runs (issue 10, hole 13).

DVC reruns a stage only when one of its listed deps changes. A module the script imports but the stage does
not list can change the stage's results without a rerun, so `dvc repro` would report stale outputs as up to
date. The import graph is read from the source with `ast` (imports inside functions included), so the test
needs none of the heavy libraries the stages import.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "voc"
SCRIPT = re.compile(r"\bstages/\w+\.py\b")


def expanded_stages(dvc_yaml: dict) -> dict[str, dict]:
    """Stage name -> definition, with `foreach` stages expanded (`eval_voc@base`) and `${item}` filled in (a dict
    `foreach` names each stage by its `${key}`, as DVC does)."""
    out: dict[str, dict] = {}
    for name, stage in dvc_yaml["stages"].items():
        if "foreach" not in stage:
            out[name] = stage
            continue
        each = stage["foreach"]
        for key, item in each.items() if isinstance(each, dict) else zip(each, each, strict=True):
            text = yaml.safe_dump(stage["do"]).replace("${item}", str(item)).replace("${key}", str(key))
            out[f"{name}@{key}"] = yaml.safe_load(text)
    return out


def module_file(module: str) -> Path | None:
    """The source file of a project module (`voc.a.b` -> voc/a/b.py or voc/a/b/__init__.py), else None."""
    base = ROOT.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _package_of(path: Path) -> str:
    """Dotted package a file belongs to (for resolving its relative imports)."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts if path.name == "__init__.py" else parts[:-1])


def _resolve_from(node: ast.ImportFrom, path: Path) -> list[str]:
    """Modules named by `from X import a, b`: X itself, and X.a / X.b where those are submodules."""
    if node.level:
        pkg = _package_of(path).split(".")
        base = ".".join(pkg[: len(pkg) - node.level + 1] + ([node.module] if node.module else []))
    else:
        base = node.module or ""
    return [base] + [f"{base}.{alias.name}" for alias in node.names]


@cache
def direct_imports(path: Path) -> frozenset[str]:
    """Project modules imported anywhere in one file (top level, functions, try blocks)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.update(_resolve_from(node, path))
    return frozenset(m for m in found if m.split(".")[0] == PACKAGE and module_file(m))


def _with_parents(module: str) -> list[str]:
    """`voc.a.b` -> [voc, voc.a, voc.a.b]: importing a module runs every enclosing package's __init__."""
    parts = module.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def is_inert(path: Path) -> bool:
    """A file holding only a docstring and constant assignments (`__version__ = "0.1.0"`) changes no result."""
    body = ast.parse(path.read_text(encoding="utf-8")).body
    return all(isinstance(s, (ast.Expr, ast.Assign)) and isinstance(s.value, ast.Constant) for s in body)


def imported_files(script: Path) -> set[str]:
    """Repo-relative paths of every project module the script runs, transitively; inert files left out."""
    seen: set[str] = set()
    todo = [m for imp in direct_imports(script) for m in _with_parents(imp)]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        todo.extend(m for imp in direct_imports(module_file(module)) for m in _with_parents(imp))
    files = {module_file(m) for m in seen}
    return {f.relative_to(ROOT).as_posix() for f in files if not is_inert(f)}


def covered(path: str, deps: list[str]) -> bool:
    """A dep covers a file when it is the file or a folder above it."""
    return any(path == d or path.startswith(d.rstrip("/") + "/") for d in deps)


def missing_code_deps(stage: dict) -> tuple[str, list[str]]:
    """(the stage's script, the project files it runs that its deps do not cover)."""
    scripts = SCRIPT.findall(stage["cmd"])
    assert len(scripts) == 1, f"expected one stages/*.py script in {stage['cmd']!r}"
    deps = [str(d) for d in stage.get("deps", [])]
    needed = {scripts[0]} | imported_files(ROOT / scripts[0])
    return scripts[0], sorted(f for f in needed if not covered(f, deps))


PARAM_LOADERS = {"load_params", "load_yaml"}


def _param_key(node: ast.AST, env: dict[str, tuple[str, ...]]) -> tuple[str, ...] | None:
    """The params key an expression reads (`p.a.b`, `p["a"]["b"]`, `cfg.get("b")` with `cfg = p["a"]`), else None."""
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):  # `load_yaml(path) or {}`
        return _param_key(node.values[0], env)
    if isinstance(node, ast.Name):
        return env.get(node.id)
    if isinstance(node, ast.Attribute) and node.attr != "get" and not node.attr.startswith("model_"):
        base = _param_key(node.value, env)  # typed params: `p.sft.lr` (pydantic's own methods are not keys)
        return None if base is None else (*base, node.attr)
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
        base = _param_key(node.value, env)
        return None if base is None else (*base, node.slice.value)
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name) and func.id in PARAM_LOADERS:
            return ()
        if isinstance(func, ast.Attribute) and func.attr == "get" and node.args and \
                isinstance(node.args[0], ast.Constant):
            base = _param_key(func.value, env)
            return None if base is None else (*base, node.args[0].value)
    return None


def _param_aliases(tree: ast.AST) -> tuple[dict[str, tuple[str, ...]], set[ast.AST]]:
    """Names bound to params (sub)trees, `cfg = p.probe` or `m, r = p["model"], p["replay"]`."""
    env: dict[str, tuple[str, ...]] = {}
    bound: set[ast.AST] = set()
    assigns = [n for n in ast.walk(tree) if isinstance(n, ast.Assign) and len(n.targets) == 1]
    for _ in range(3):  # aliases of aliases
        for node in assigns:
            target, value = node.targets[0], node.value
            pairs = [(target, value)]
            if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple):
                pairs = list(zip(target.elts, value.elts, strict=False))
            for name, expr in pairs:
                key = _param_key(expr, env)
                if isinstance(name, ast.Name) and key is not None:
                    env[name.id] = key
                    bound.add(expr)
    return env, bound


def params_read(script: Path) -> set[str]:
    """Dotted params keys the script reads itself; a subtree it hands on whole counts as read whole."""
    tree = ast.parse(script.read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    env, bound = _param_aliases(tree)
    found = set()
    for node in ast.walk(tree):
        key = _param_key(node, env)
        if not key or node in bound or isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            continue
        parent = parents.get(node)
        if isinstance(parent, ast.Attribute) and parent.attr == "get":
            parent = parents.get(parent)
        if _param_key(parent, env) is not None:
            continue  # part of a longer key
        found.add(".".join(key))
    return found


STAGES = expanded_stages(yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8")))


@pytest.mark.parametrize("name", sorted(STAGES))
def test_stage_deps_cover_every_module_its_script_imports(name: str) -> None:
    script, missing = missing_code_deps(STAGES[name])
    assert not missing, f"dvc.yaml stage {name} ({script}) runs {missing} but does not list them in deps: add them"


@pytest.mark.parametrize("name", sorted(STAGES))
def test_stage_lists_code_as_folders_it_runs(name: str) -> None:
    """Code deps are package folders (`voc/eval/`), right by construction when a module is added to a package;
    a folder the script never runs anything from would rerun the stage for nothing."""
    stage = STAGES[name]
    script = SCRIPT.findall(stage["cmd"])[0]
    needed = imported_files(ROOT / script)
    code = [str(d) for d in stage.get("deps", []) if str(d).startswith(f"{PACKAGE}/")]
    files = [d for d in code if not d.endswith("/")]
    assert not files, f"dvc.yaml stage {name}: list {files} by their package folder (e.g. voc/core/), not as files"
    unused = [d for d in code if not any(f.startswith(d) for f in needed)]
    assert not unused, f"dvc.yaml stage {name}: drop {unused} from deps, {script} never runs anything in them"


@pytest.mark.parametrize("name", sorted(STAGES))
def test_stage_params_cover_every_key_its_script_reads(name: str) -> None:
    """A params key the script reads but the stage does not list changes results without a rerun."""
    stage = STAGES[name]
    script = SCRIPT.findall(stage["cmd"])[0]
    listed = [str(p) for p in stage.get("params", [])]
    missing = sorted(k for k in params_read(ROOT / script) if not any(k == p or k.startswith(f"{p}.") for p in listed))
    assert not missing, f"dvc.yaml stage {name}: {script} reads params {missing}; add them to its params"


def test_params_reads_follow_typed_attributes(tmp_path: Path) -> None:
    script = tmp_path / "s.py"
    script.write_text("p = load_params(x, 'eval', 'model')\nev, t = p.eval, p.model.trust_remote_code\n"
                      "f(ev.limit, t, p.sft.model_dump(), p.replay.sources[0].name)\n"
                      "d = load_params(x, 'decontam').decontam\ng(d.ngram)\n")
    assert params_read(script) == {"eval.limit", "model.trust_remote_code", "sft", "replay.sources",
                                   "decontam.ngram"}


def test_params_reads_follow_aliases_and_get(tmp_path: Path) -> None:
    script = tmp_path / "s.py"
    script.write_text("p = load_params(x)\ncfg = p['probe']\nm, e = p['model'], p['eval']\n"
                      "f(cfg['path'], cfg.get('limit') or 3, m['trust_remote_code'], e, p['sft']['lr'])\n"
                      "d = (load_yaml(y) or {}).get('decontam') or {}\nd.get('ngram')\n")
    assert params_read(script) == {"probe.path", "probe.limit", "model.trust_remote_code", "eval", "sft.lr",
                                   "decontam.ngram"}


def test_the_import_graph_is_transitive_and_sees_imports_in_functions(tmp_path: Path) -> None:
    """The checker itself: stages/eval_voc.py reaches voc/core/taxonomy.py only through other modules."""
    files = imported_files(ROOT / "stages/eval_voc.py")
    assert {"voc/eval/predictions.py", "voc/eval/scoring/metrics.py", "voc/core/taxonomy.py", "voc/core/files.py",
            "voc/core/errors.py"} <= files
    assert "voc/__init__.py" not in files  # docstring + __version__ only
    assert "voc/train/sft.py" not in files
    script = tmp_path / "s.py"
    script.write_text("def f():\n    from voc.data import mixing\n    import voc.model.loading\n")
    assert {"voc/data/mixing.py", "voc/model/loading.py"} <= imported_files(script)
    stage = {"cmd": "python stages/mix.py --x 1", "deps": ["stages/mix.py", "voc/data/mixing.py"]}
    assert "voc/model/loading.py" in missing_code_deps(stage)[1]
    assert missing_code_deps({**stage, "deps": ["stages/mix.py", "voc/"]})[1] == []


def test_allow_pickle_is_read_only_by_the_assets_stage() -> None:
    """Every model folder the assets stage writes is safetensors, so only it may need pickled weights."""
    readers = {name for name, stage in STAGES.items()
               if "model.allow_pickle" in params_read(ROOT / SCRIPT.findall(stage["cmd"])[0])}
    assert readers == {"assets"}
    listed = {name for name, stage in STAGES.items() if "model.allow_pickle" in stage.get("params", [])}
    assert listed == {"assets"}


def test_weights_are_loaded_in_one_place() -> None:
    """One loader (voc.model.loading.load_weights) applies the safetensors rule; only the GGUF converter, which
    reads a pinned sha256-checked file, calls transformers' model loader itself."""
    callers = set()
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                    node.func.attr == "from_pretrained" and getattr(node.func.value, "id", "") != "AutoTokenizer":
                gguf = any(k.arg == "gguf_file" for k in node.keywords)
                callers.add((path.relative_to(ROOT).as_posix(), gguf))
    assert callers == {("voc/model/loading.py", False), ("voc/assets/model.py", True)}
