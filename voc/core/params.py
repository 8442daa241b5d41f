"""Loading `params.yaml` and checking every knob up front, so bad values fail before any expensive stage.

The types and ranges live in `voc.core.schema`; this module turns a violation into a ParamsError that names
the file, the line, the dotted key, the bad value and the fix. Each stage calls `load_params`; validation only
reads, so a stage that checks `mix` does not depend on it.
"""

from __future__ import annotations

import difflib
import functools
import re
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError, create_model

from voc.core.errors import ParamsError
from voc.core.schema import SFT, Params
from voc.core.schema_types import Section
from voc.core.sources import parse_source

PARAMS_FILE = "params.yaml"
_ADAPTERS: dict[Any, TypeAdapter] = {}
_RANGE = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}
_PATTERN_FIX = {"sha256": "use the 64-hex-digit sha256 of the pinned wheel"}


def _submodel(tp: Any) -> type[BaseModel] | None:
    """The schema model inside an annotation (through Annotated, Optional, list), if any."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp
    for arg in get_args(tp):
        if (found := _submodel(arg)) is not None:
            return found
    return None


def _parts(schema: Any, loc: tuple, keep_last: bool) -> list[str | int]:
    """The user's key path of a pydantic error location: union-branch tags such as 'int' are not keys."""
    parts: list[str | int] = []
    model = _submodel(schema)
    for i, part in enumerate(loc):
        if isinstance(part, int):
            parts.append(part)
        elif model is not None and part in model.model_fields:
            parts.append(part)
            model = _submodel(model.model_fields[part].annotation)
        elif keep_last and i == len(loc) - 1:
            parts.append(part)
    return parts


def _model_at(schema: Any, parts: list[str | int]) -> type[BaseModel] | None:
    model = _submodel(schema)
    for part in parts:
        if isinstance(part, str):
            model = _submodel(model.model_fields[part].annotation) if model else None
    return model


def dotted(parts: list[str | int] | tuple) -> str:
    """('replay', 'sources', 0, 'weight') -> 'replay.sources[0].weight'."""
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _line(root: yaml.Node | None, parts: list[str | int]) -> int | None:
    """The 1-based line of the deepest key of `parts` present in the YAML node tree (a missing key: its parent)."""
    node, line = root, None
    for part in parts:
        if isinstance(node, yaml.MappingNode):
            hit = next(((k, v) for k, v in node.value if k.value == part), None)
            if hit is None:
                break
            line, node = hit[0].start_mark.line + 1, hit[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _number_fix(key: str, value: object, whole: bool) -> str:
    if isinstance(value, str):
        return (f"write {key} as a YAML number without quotes (PyYAML reads 2e-4, with no dot, as text: "
                f"write 2.0e-4)")
    if whole:
        return f"use a whole number for {key} (no .nan, .inf or fraction)"
    return f"set {key} to a number"


def _explain(err: dict, key: str, parts: list[str | int], schema: Any) -> tuple[str, str]:
    """(problem, fix) for one pydantic error, in the user's words."""
    kind, value, msg, ctx = err["type"], err.get("input"), err["msg"], err.get("ctx") or {}
    name = parts[-1] if parts and isinstance(parts[-1], str) else "value"
    if kind == "params_rule":
        return ctx["problem"], ctx["fix"]
    if kind == "missing":
        return f"{key} is missing", f"add {key} (see params.yaml in the repository for its meaning)"
    if kind == "extra_forbidden":
        model = _model_at(schema, parts[:-1])
        close = difflib.get_close_matches(str(name), list(model.model_fields) if model else [], n=1)
        hint = f" (did you mean {dotted([*key.split('.')[:-1], close[0]])}?)" if close else ""
        return f"unknown key {key}", f"remove {key} or correct its spelling{hint}"
    if kind == "literal_error":
        choices = ", ".join(re.findall(r"'([^']*)'", ctx["expected"]))
        return f"{key}: unknown {name} {value!r}", f"use one of {choices}"
    if kind == "bool_type":
        return (f"{key}={value!r} is not a YAML boolean",
                "write true or false without quotes (quoted words and numbers are refused: bool('false') is True)")
    if kind in ("real_type", "int_type", "float_type"):
        whole = kind == "int_type"
        return f"{key}={value!r} is not {'a whole number' if whole else 'a number'}", _number_fix(key, value, whole)
    if kind == "finite_number":
        return f"{key}={value!r} is not a finite number", f"set {key} to a finite number (not .nan or .inf)"
    if kind in _RANGE:
        bound = msg.removeprefix("Input should be ")
        return f"{key}={value!r} is out of range (it must be {bound})", f"set {key} to a value {bound}"
    if kind == "max_steps_zero":
        return f"{key}=0 {msg}", "use -1 (train for sft.epochs) or a positive number of steps"
    if kind == "string_pattern_mismatch":
        return f"{key}={value!r} is malformed", _PATTERN_FIX.get(str(name), f"match {ctx.get('pattern')}")
    if kind == "string_type":
        return f"{key}={value!r} is not text", f"write {key} as a string"
    if kind in ("too_short", "string_too_short"):
        return f"{key} is empty", f"give {key} at least one value"
    return f"{key}={value!r}: {msg}", f"correct {key} (see params.yaml in the repository)"


def _params_error(e: ValidationError, schema: Any, where: str, prefix: tuple, text: str | None) -> ParamsError:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader) if text else None
    except yaml.YAMLError:
        root = None
    seen: set[str] = set()
    items: list[tuple[str, str, int | None]] = []
    for err in e.errors():
        parts = _parts(schema, err["loc"], err["type"] == "extra_forbidden")
        at = [*prefix, *parts, *(err.get("ctx") or {}).get("at", ())] if err["type"] == "params_rule" else None
        full = at if at is not None else [*prefix, *parts]
        key = dotted(full)
        if key in seen:  # the alternatives of one union value: report the value once
            continue
        seen.add(key)
        items.append((*_explain(err, dotted([*prefix, *parts]), parts, schema), _line(root, full)))
    if len(items) == 1:
        problem, fix, line = items[0]
        return ParamsError(where, line, problem, fix)
    problem = "; ".join(f"{p} (line {n})" if n else p for p, _, n in items)
    return ParamsError(where, items[0][2], f"{len(items)} problems: {problem}",
                       "; ".join(dict.fromkeys(f for _, f, _ in items)))


def _adapter(schema: Any) -> TypeAdapter:
    if schema not in _ADAPTERS:
        _ADAPTERS[schema] = TypeAdapter(schema)
    return _ADAPTERS[schema]


def validate(schema: Any, value: object, where: str = PARAMS_FILE, prefix: tuple = (), text: str | None = None) -> Any:
    """Validate `value` against a schema model or type; return the typed value (a model instance for a section).

    `prefix` is where `value` sits in params.yaml (for the key names); `text`, the file's YAML (for line numbers).
    """
    try:
        return _adapter(schema).validate_python(value)
    except ValidationError as e:
        raise _params_error(e, schema, where, prefix, text) from None


def check(schema: Any, value: object, where: str = PARAMS_FILE, prefix: tuple = (), text: str | None = None) -> Any:
    """`validate`, returned as plain data with defaults filled in (for code that stores or hashes it)."""
    return _adapter(schema).dump_python(validate(schema, value, where, prefix, text))


def check_sft_params(sft: SFT | dict, where: str = PARAMS_FILE) -> SFT:
    """The typed sft: block (a dict is validated: fail early, naming the key, rather than deep inside the Trainer)."""
    return sft if isinstance(sft, SFT) else validate(SFT, sft, where, prefix=("sft",))


@functools.cache
def _stage_schema(sections: tuple[str, ...]) -> type[BaseModel]:
    """The part of the Params schema a stage reads: only these sections, each with its own rules."""
    unknown = [s for s in sections if s not in Params.model_fields]
    if unknown:
        raise KeyError(f"no params section {unknown[0]!r} in voc.core.schema.Params")
    fields = {s: (Params.model_fields[s].annotation, Params.model_fields[s]) for s in sections}
    return create_model(f"Params[{','.join(sections)}]", __base__=Section, **fields)


def _check_sources(p: BaseModel) -> None:
    for name in ("model", "mmlu", "tasks"):
        if name in type(p).model_fields:
            parse_source(getattr(p, name).source, f"{name}.source")


def _mapping(raw: object, where: str) -> dict:
    if not isinstance(raw, dict):
        raise ParamsError(where, None, "the params file is empty or not a mapping", "restore params.yaml")
    return raw


def _read(path: str | Path) -> tuple[dict, str]:
    """The file read once: its mapping (safe_load) and its text (for the line numbers of errors)."""
    text = Path(path).read_text(encoding="utf-8")
    return _mapping(yaml.safe_load(text), str(path)), text


def validate_params(p: object, where: str = PARAMS_FILE, text: str | None = None) -> dict:
    """Check a whole params mapping (cheap: no downloads, no model loading); return it with defaults filled in."""
    typed = validate(Params, _mapping(p, where), where, text=text)
    _check_sources(typed)
    return typed.model_dump()


def load_params(path: str | Path = PARAMS_FILE, *sections: str) -> Any:
    """safe_load the params file and validate the sections a stage reads (every section when none are named).

    Returns typed objects (`p.sft.lr`), never dicts. Only the named sections are checked, so a bad `sft:` edit
    fails the stages that train, not `eval_mmlu`; `voc check-params` checks the whole file.
    """
    raw, text = _read(path)
    if sections:
        raw = {k: raw[k] for k in sections if k in raw}
    typed = validate(_stage_schema(tuple(sections)) if sections else Params, raw, str(path), text=text)
    _check_sources(typed)
    return typed
