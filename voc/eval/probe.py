"""Instruction-following probe: prompts with a machine-checkable constraint, and the checker.

Fine-tuning on one narrow task can erode a model's habit of following plain instructions ("answer in
three bullets", "reply in French"). The probe prompts in `data/raw/general_prompts.jsonl` each state one
such instruction, and `check_constraint` decides pass/fail without a judge model, so the before/after
pass rates are cheap, deterministic and comparable across runs.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

from voc.core.errors import InputError
from voc.core.files import iter_jsonl
from voc.core.stats import proportion_fields

SPLITS = ("replay", "probe")
# Constraint type -> its required parameters and their Python types.
CONSTRAINT_PARAMS: dict[str, dict[str, type]] = {
    "bullets": {"n": int},
    "numbered_list": {"n": int},
    "max_words": {"n": int},
    "json_keys": {"keys": list},
    "language": {"lang": str},
    "starts_with": {"text": str},
    "contains": {"text": str},
    "lowercase": {},
    "one_word": {},
    "no_commas": {},
}


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Frequent function words. Overlaps (e.g. "de" in French and Spanish) are allowed: they add to both sides.
STOPWORDS: dict[str, frozenset[str]] = {
    "en": _words("the a an and or of to in is are was were it this that with for on be as at by not you "
                 "your i we they he she have has from but which there their"),
    "fr": _words("le la les un une des et ou de du au aux est sont était il elle ils nous vous je pas "
                 "pour dans sur avec ce cette qui que ne se en son sa ses leur très"),
    "de": _words("der die das ein eine einen und oder ist sind war nicht mit für auf in im zu von den "
                 "dem des ich du wir sie er es auch sich bei aus nach wie sehr"),
    "es": _words("el la los las un una unos y o de del al es son era no con para por en que se su sus "
                 "lo como muy pero más este esta yo tú"),
}
LANGUAGES = (*STOPWORDS, "ja")
_JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_BULLET = re.compile(r"^\s*[-*•]\s+\S")
_NUMBERED = re.compile(r"^\s*(\d+)[.)]\s+\S")
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


def validate_constraint(constraint: object) -> None:
    """Raise ValueError unless `constraint` is {"type": known, <its params with the right types>}."""
    if not isinstance(constraint, dict) or "type" not in constraint:
        raise ValueError(f"constraint must be an object with a 'type', got {constraint!r}")
    kind = constraint["type"]
    if kind not in CONSTRAINT_PARAMS:
        raise ValueError(f"unknown constraint type {kind!r}; known: {', '.join(CONSTRAINT_PARAMS)}")
    for name, typ in CONSTRAINT_PARAMS[kind].items():
        value = constraint.get(name)
        if not isinstance(value, typ) or isinstance(value, bool) or not value:
            raise ValueError(f"constraint {kind!r} needs a non-empty {typ.__name__} '{name}', got {value!r}")
    if kind == "json_keys" and not all(isinstance(k, str) for k in constraint["keys"]):
        raise ValueError("constraint 'json_keys' needs 'keys' to be a list of strings")
    if kind == "language" and constraint["lang"] not in LANGUAGES:
        raise ValueError(f"language {constraint['lang']!r} is not checkable; use one of {', '.join(LANGUAGES)}")


def detect_language(text: str) -> str | None:
    """Guess en/fr/de/es/ja, or None when unsure.

    Japanese: at least 30 % of non-space characters are kana or kanji. Otherwise the language whose
    stopwords cover the most words wins, if they cover at least 15 % of the words and beat the runner-up.
    Limits: very short answers (a few words, no function words) return None; mixed-language text goes to
    the majority; Chinese passes as Japanese; any other language is unknown (None).
    """
    chars = [c for c in text if not c.isspace()]
    if chars and sum(bool(_JAPANESE.match(c)) for c in chars) / len(chars) >= 0.3:
        return "ja"
    words = _WORD.findall(text.lower())
    if not words:
        return None
    hits = sorted(((sum(w in stops for w in words), lang) for lang, stops in STOPWORDS.items()), reverse=True)
    (best, lang), (second, _) = hits[0], hits[1]
    return lang if best > second and best / len(words) >= 0.15 else None


def _json_object(text: str) -> dict | None:
    """Parse the whole reply as one JSON object (a ```json fence around it is tolerated)."""
    text = text.strip()
    fenced = _FENCE.match(text)
    try:
        obj = json.loads(fenced.group(1) if fenced else text)
    except json.JSONDecodeError:
        return None
    return obj if isinstance(obj, dict) else None


def _numbers(text: str) -> list[int]:
    return [int(m.group(1)) for line in text.splitlines() if (m := _NUMBERED.match(line))]


def check_constraint(response: str, constraint: dict) -> bool:
    """True if `response` satisfies `constraint`. An empty reply never passes.

    bullets/numbered_list count list lines only (an intro line is allowed); numbered items must run 1..n.
    """
    validate_constraint(constraint)
    kind, text = constraint["type"], response.strip()
    if not text:
        return False
    checks = {
        "bullets": lambda: sum(bool(_BULLET.match(line)) for line in text.splitlines()) == constraint["n"],
        "numbered_list": lambda: _numbers(text) == list(range(1, constraint["n"] + 1)),
        "max_words": lambda: len(text.split()) <= constraint["n"],
        "json_keys": lambda: (obj := _json_object(text)) is not None and set(obj) == set(constraint["keys"]),
        "language": lambda: detect_language(text) == constraint["lang"],
        "starts_with": lambda: text.startswith(constraint["text"]),
        "contains": lambda: constraint["text"].lower() in text.lower(),
        "lowercase": lambda: text == text.lower() and any(c.isalpha() for c in text),
        "one_word": lambda: len(text.split()) == 1 and any(c.isalnum() for c in text),
        "no_commas": lambda: "," not in text and "，" not in text and "、" not in text,
    }
    return bool(checks[kind]())


def probe_report(responses: list[str], prompts: list[dict]) -> dict:
    """Pass rate overall (with lm-eval's stderr and a Wilson 95 % interval) and per constraint type (0.0 for an
    empty list, so metrics stay JSON numbers)."""
    if len(responses) != len(prompts):
        raise ValueError(f"{len(responses)} responses for {len(prompts)} prompts")
    by_type: dict[str, list[bool]] = defaultdict(list)
    for response, prompt in zip(responses, prompts, strict=True):
        by_type[prompt["constraint"]["type"]].append(check_constraint(response, prompt["constraint"]))
    results = [ok for oks in by_type.values() for ok in oks]
    return {
        "pass_rate": sum(results) / len(results) if results else 0.0,
        **proportion_fields("pass_rate", sum(results), len(results)),  # 40 prompts: about +-15 points
        "n": len(results),
        "by_type": {kind: {"pass_rate": sum(oks) / len(oks), "n": len(oks)} for kind, oks in sorted(by_type.items())},
    }


def _check_row(row: object, where: tuple[str, int], seen: dict[str, int]) -> None:
    path, line = where
    if not isinstance(row, dict):
        raise InputError(path, line, "the line is not a JSON object", "write one {...} object per line")
    for key in ("id", "category", "prompt", "split"):
        if not isinstance(row.get(key), str) or not row[key].strip():
            raise InputError(path, line, f"field '{key}' is missing or not a non-empty string",
                             "give every prompt string fields id, category, prompt and split")
    if row["split"] not in SPLITS:
        raise InputError(path, line, f"split {row['split']!r} is not one of {SPLITS}",
                         "set split to 'replay' or 'probe'")
    if row["id"] in seen:
        raise InputError(path, line, f"duplicate id {row['id']!r} (first on line {seen[row['id']]})",
                         "give every prompt a unique id")
    seen[row["id"]] = line
    if row["split"] == "probe":
        try:
            validate_constraint(row.get("constraint"))
        except ValueError as e:
            raise InputError(path, line, f"bad probe constraint: {e}",
                             "give probe prompts a 'constraint' like {\"type\": \"bullets\", \"n\": 3}") from None


def load_prompts(path: str | Path, split: str | None = None) -> list[dict]:
    """Read and validate the general prompts file; return the rows of `split` (all rows when None)."""
    if split is not None and split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS} or None, got {split!r}")
    rows, seen = [], {}
    for lineno, row in iter_jsonl(path, "write one JSON object per line, with double-quoted keys"):
        _check_row(row, (str(path), lineno), seen)
        rows.append(row)
    return [r for r in rows if split is None or r["split"] == split]
