"""Small file helpers: atomic writes (a killed stage never leaves a half-written output) and line-numbered reads.

Every user-supplied JSONL file (comments, replay sources, prompt files) goes through `jsonl_lines`, so each
behaves the same: a UTF-8 BOM is accepted, and a line that is not UTF-8, not JSON, nested too deeply, not an
object, or holds a lone UTF-16 surrogate is named by file:line with the fix. Writers never raise on a lone
surrogate (a model can emit `"\\ud83d"`): JSON writers escape it losslessly, `write_text` replaces it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from voc.core.errors import InputError

UTF8_BOM = b"\xef\xbb\xbf"
SURROGATE = re.compile("[\ud800-\udfff]")  # only a lone one survives in a str: a valid pair decodes to one char


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike) -> Iterator[Path]:
    """Yield a temp path beside `dest`; rename it onto `dest` only if the block succeeds.

    Works for files and directories. The temp lives in the same folder, so the rename is atomic.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent)) / dest.name
    try:
        yield tmp
        if dest.is_dir() and not dest.is_symlink():
            shutil.rmtree(dest)
        elif dest.exists() or dest.is_symlink():
            dest.unlink()
        os.replace(tmp, dest)
    finally:
        shutil.rmtree(tmp.parent, ignore_errors=True)


def _escape_surrogate(match: re.Match) -> str:
    return f"\\u{ord(match.group()):04x}"


def dumps(obj: Any, **kwargs: Any) -> str:
    """`json.dumps` with non-ASCII kept readable, and any lone surrogate written as its `\\udXXX` escape: the
    file stays valid UTF-8 and reads back to the same string (plain ensure_ascii=False would fail to encode)."""
    return SURROGATE.sub(_escape_surrogate, json.dumps(obj, ensure_ascii=False, **kwargs))


def write_text(dest: str | os.PathLike, text: str) -> None:
    """Write UTF-8 text atomically; a lone surrogate (not encodable) becomes U+FFFD instead of raising."""
    with atomic_path(dest) as tmp:
        tmp.write_text(SURROGATE.sub("\ufffd", text), encoding="utf-8")


def write_json(dest: str | os.PathLike, obj: Any) -> None:
    write_text(dest, dumps(obj, indent=2, sort_keys=False) + "\n")


def write_jsonl(dest: str | os.PathLike, rows: Iterable[dict]) -> int:
    """Write one JSON object per line; return the number of rows."""
    n = 0
    with atomic_path(dest) as tmp, tmp.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(dumps(row) + "\n")
            n += 1
    return n


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    """Read a JSONL file we wrote ourselves (trusted): blank lines are skipped."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def read_json(path: str | os.PathLike) -> Any:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def load_yaml(path: str | os.PathLike) -> Any:
    """YAML is always loaded with safe_load: params files never construct Python objects."""
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


@dataclass(frozen=True)
class BadLine:
    """Why one line of a user file cannot be used: a reason code (counted in lenient mode), problem and fix."""

    reason: str
    problem: str
    fix: str


def json_kind(value: Any) -> str:
    """How JSON spells a decoded value's type, for error messages ("an array", not "list")."""
    kinds = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return kinds.get(type(value), "a number")


def lone_surrogate(value: Any) -> str | None:
    """The `\\udXXX` escape of the first lone surrogate in any string (or key) of a decoded JSON value."""
    stack = [value]
    while stack:  # iterative: the value may be nested as deep as the JSON decoder allows
        item = stack.pop()
        if isinstance(item, str):
            match = SURROGATE.search(item)
            if match:
                return _escape_surrogate(match)
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def parse_line(raw: bytes) -> tuple[str, Any]:
    """(the line as text, its JSON object) or (text, BadLine): the one rule set for every user JSONL line."""
    try:
        text = raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as e:
        return raw.decode("utf-8", errors="replace").rstrip("\r\n"), BadLine(
            "not_utf8", f"the line is not valid UTF-8 (byte {raw[e.start]:#x} at byte {e.start + 1})",
            "re-save the file as UTF-8")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        return text, BadLine("invalid_json", f"invalid JSON ({e.msg} at column {e.colno})",
                             "write one complete JSON object per line")
    except RecursionError:
        return text, BadLine("too_deep", "the JSON is nested too deeply to read",
                             "flatten the line: a record needs only a few levels of nesting")
    return text, check_row(value, text)


def check_row(value: Any, text: str) -> Any:
    """`value` if it is a usable row (an object without lone surrogates), else a BadLine; `text` is its JSON."""
    if not isinstance(value, dict):
        return BadLine("not_an_object", f"the line is not a JSON object (it is {json_kind(value)})",
                       "write one JSON object per line")
    escape = "\\u" in text and lone_surrogate(value)  # only a \u escape can make one: the text itself is UTF-8
    if escape:
        return BadLine("lone_surrogate", f"the line holds a lone UTF-16 surrogate {escape} (half a character, "
                       "e.g. a cut emoji), which cannot be written as UTF-8",
                       f"re-export the text with whole characters, or delete the {escape} escape")
    return value


def jsonl_lines(path: str | os.PathLike) -> Iterator[tuple[int, str, Any]]:
    """(line number, text, object or BadLine) for every non-blank line of a user JSONL file (BOM accepted)."""
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, start=1):
            raw = raw.removeprefix(UTF8_BOM) if lineno == 1 else raw
            if raw.strip():
                yield (lineno, *parse_line(raw))


def iter_jsonl(path: str | os.PathLike, fix: str, error: type[InputError] | None = None
               ) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each non-blank line of user-supplied JSONL; a bad line raises `error`
    (an InputError subclass) naming the file and the line. `fix` is the hint for invalid JSON; the other
    problems carry their own fix."""
    error = error or InputError
    for lineno, _text, value in jsonl_lines(path):
        if isinstance(value, BadLine):
            raise error(str(path), lineno, value.problem, fix if value.reason == "invalid_json" else value.fix)
        yield lineno, value


def decode_user_file(path: str | os.PathLike, error: type[InputError]) -> str:
    """A whole user text file (BOM accepted); a non-UTF-8 byte raises `error` naming its line."""
    raw = Path(path).read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise error(str(path), raw[: e.start].count(b"\n") + 1, f"the file is not valid UTF-8 (byte {raw[e.start]:#x})",
                    "re-save the file as UTF-8") from None


def iter_json_array(path: str | os.PathLike, fix: str, error: type[InputError] | None = None
                    ) -> Iterator[tuple[int, dict]]:
    """(line number, object) for each item of a user JSON file holding one array of objects: the items are
    decoded one at a time, so a bad item is named by the line it starts on, under the same rules as JSONL."""
    error = error or InputError
    text = decode_user_file(path, error)
    decoder, pos, line, counted = json.JSONDecoder(), 0, 1, 0

    def skip(at: int) -> int:
        while at < len(text) and text[at] in " \t\r\n":
            at += 1
        return at

    def line_at(at: int) -> int:
        nonlocal line, counted
        line, counted = line + text.count("\n", counted, at), at
        return line

    pos = skip(pos)
    if not text.startswith("[", pos):
        raise error(str(path), line_at(pos), "the JSON file is not a list of rows", fix)
    pos = skip(pos + 1)
    while not text.startswith("]", pos):
        try:
            item, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as e:
            raise error(str(path), e.lineno, f"invalid JSON ({e.msg} at column {e.colno})", fix) from None
        except RecursionError:
            raise error(str(path), line_at(pos), "the JSON is nested too deeply to read", fix) from None
        checked = check_row(item, text[pos:end])
        if isinstance(checked, BadLine):
            raise error(str(path), line_at(pos), checked.problem.replace("the line", "the item"),
                        fix if checked.reason == "not_an_object" else checked.fix)
        yield line_at(pos), checked
        pos = skip(end)
        if text.startswith(",", pos):
            pos = skip(pos + 1)
            if text.startswith("]", pos):
                raise error(str(path), line_at(pos), "a comma before the closing ']'", fix)
        elif not text.startswith("]", pos):
            raise error(str(path), line_at(pos), "expected ',' or ']' between rows", fix)
    if skip(pos + 1) < len(text):
        raise error(str(path), line_at(pos), "text after the closing ']'", fix)


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """The file's sha256, read in chunks (model weights are large): the one hash voc pins and checks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()
