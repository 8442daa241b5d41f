"""IFEval (Zhou et al., 2023): instruction following measured with the standard benchmark.

Each prompt carries one or more machine-verifiable instructions ("at least 300 words", "no commas", "wrap the
reply in JSON"). The checkers come from `if-verifiable` (IFEval's reference checkers, packaged); this module reads
and validates the prompts, runs the checkers strictly and loosely, and aggregates the four standard metrics:
prompt-level (every instruction of a prompt followed) and instruction-level, each strict and loose.

Two reference checkers tokenise with nltk data this project cannot use: the sentence count loads the punkt
*pickle* (pickles can run code, and there is no network at run time to fetch it), and the capital-word count
sentence-splits with punkt data first. Both are replaced, and only those two, and every report counts them:
- sentences are split with IFEval's own rule-based splitter (`split_into_sentences`, which its key-sentence checker
  uses); it knows fewer abbreviations than punkt, so a reply full of "e.g." may count a sentence more;
- capital words are tokenised line by line (nltk's word tokenizer, `preserve_line=True`): skipping the sentence
  split only keeps a final period on a word, and a period never changes `isupper()`, so the count is the same.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import langdetect
import nltk
import numpy as np
from if_verifiable.common import get_loose_transformations
from if_verifiable.ifeval import instructions, instructions_util
from if_verifiable.ifeval.instructions_registry import INSTRUCTION_DICT

from voc.core.errors import InputError
from voc.core.files import iter_jsonl
from voc.core.sources import parse_source
from voc.core.stats import bootstrap_ci, proportion_fields

SENTENCES = "length_constraints:number_sentences"
CAPITALS = "change_case:capital_word_frequency"
LANGUAGE = "language:response_language"
LESS_THAN = "less than"  # IFEval's two comparison relations: "less than" and "at least"
METRICS = ("prompt_level_strict_acc", "prompt_level_loose_acc", "inst_level_strict_acc", "inst_level_loose_acc")


def _compare(count: int, relation: str, threshold: int) -> bool:
    return count < threshold if relation == LESS_THAN else count >= threshold


class _Sentences(instructions.NumberOfSentences):
    """The sentence-count check with IFEval's rule-based splitter in place of the punkt pickle."""

    def check_following(self, value: str) -> bool:
        args = self.get_instruction_args()
        count = len(instructions_util.split_into_sentences(value))
        return _compare(count, args["relation"], args["num_sentences"])


class _Capitals(instructions.CapitalWordFrequencyChecker):
    """The capital-word count without punkt data: nltk's word tokenizer on whole lines."""

    def check_following(self, value: str) -> bool:
        args = self.get_instruction_args()
        count = sum(w.isupper() for w in nltk.tokenize.word_tokenize(value, preserve_line=True))
        return _compare(count, args["capital_relation"], args["capital_frequency"])


CHECKERS = {**INSTRUCTION_DICT, SENTENCES: _Sentences, CAPITALS: _Capitals}
SUBSTITUTED = (SENTENCES, CAPITALS)


def build_checker(instruction_id: str, kwargs: dict, prompt: str) -> instructions.Instruction:
    """A checker set up from its kwargs, as IFEval's evaluation does (a checker that asks for the prompt gets it)."""
    checker = CHECKERS[instruction_id](instruction_id)
    checker.build_description(**kwargs)
    if "prompt" in (checker.get_instruction_args() or {}):
        checker.build_description(prompt=prompt)
    return checker


def _check_instruction(iid: object, kwargs: object, prompt: str, where: tuple[str, int], i: int) -> dict:
    """The kwargs of instruction `i` without None values, after checking the checker takes exactly them.

    A missing argument is an error, not a default: IFEval's checkers fill one in with `random`, so the score
    would change from run to run."""
    path, line = where
    if iid not in CHECKERS:
        raise InputError(path, line, f"instruction_id_list[{i}] {iid!r} is not an IFEval instruction",
                         f"use IFEval's ids, e.g. {', '.join(sorted(CHECKERS)[:3])}, ...")
    if not isinstance(kwargs, dict):
        raise InputError(path, line, f"kwargs[{i}] is not an object", "give one {...} of arguments per instruction")
    given = {k: v for k, v in kwargs.items() if v is not None}
    wanted = set(CHECKERS[iid](iid).get_instruction_args_keys())
    if set(given) != wanted:
        raise InputError(path, line, f"kwargs[{i}] of {iid} has {sorted(given)}, it takes {sorted(wanted)}",
                         f"give {iid} exactly the arguments {sorted(wanted)} (null for none)")
    try:
        build_checker(iid, given, prompt)
    except (ValueError, TypeError) as e:
        raise InputError(path, line, f"kwargs[{i}] of {iid} is invalid: {e}", "fix the argument's value") from None
    return given


def check_row(row: object, where: tuple[str, int], seen: dict[int, int]) -> dict:
    """One validated IFEval row {key, prompt, instruction_id_list, kwargs}; `seen` maps keys to their lines."""
    path, line = where
    if not isinstance(row, dict):
        raise InputError(path, line, "the line is not a JSON object", "write one {...} object per line")
    key, prompt, ids, kwargs = (row.get(k) for k in ("key", "prompt", "instruction_id_list", "kwargs"))
    if not isinstance(key, int) or isinstance(key, bool):
        raise InputError(path, line, f"'key' must be an integer, got {key!r}", "give every prompt an integer key")
    if key in seen:
        raise InputError(path, line, f"duplicate key {key} (first on line {seen[key]})",
                         "give every prompt a unique key")
    seen[key] = line
    if not isinstance(prompt, str) or not prompt.strip():
        raise InputError(path, line, "'prompt' is missing or empty", "give every row a non-empty prompt string")
    if not isinstance(ids, list) or not ids or not isinstance(kwargs, list) or len(kwargs) != len(ids):
        raise InputError(path, line, "'instruction_id_list' and 'kwargs' must be lists of the same, non-zero length",
                         "give one kwargs object per instruction id, in the same order")
    pairs = enumerate(zip(ids, kwargs, strict=True))
    kwargs = [_check_instruction(iid, kw, prompt, where, i) for i, (iid, kw) in pairs]
    return {"key": key, "prompt": prompt, "instruction_id_list": list(ids), "kwargs": kwargs}


def _from_hub(repo_id: str, revision: str | None) -> list[tuple[tuple[str, int], object]]:
    from datasets import load_dataset

    rows = load_dataset(repo_id, split="train", revision=revision)
    return [((f"hf:{repo_id}[train]", i + 1), dict(r)) for i, r in enumerate(rows)]


def load_ifeval(source: str, revision: str | None = None, limit: int | None = None) -> list[dict]:
    """The validated prompts of a local IFEval JSONL or `hf:google/IFEval` (split `train`, at commit `revision`);
    the first `limit` of them when set (every row is still validated)."""
    src = parse_source(source, "probe.ifeval.source")
    if src.kind == "hf":
        located = _from_hub(src.repo_id, revision)
    elif src.kind == "local" and Path(src.path).is_file():
        located = [((str(src.path), n), row) for n, row in iter_jsonl(src.path, "write one JSON object per line")]
    else:
        raise InputError(str(source), None, "an IFEval source is a JSONL file or hf:<repo_id>",
                         "point probe.ifeval.source at input_data.jsonl or at hf:google/IFEval")
    seen: dict[int, int] = {}
    rows = [check_row(row, where, seen) for where, row in located]
    if not rows:
        raise InputError(str(source), None, "no prompts", "use a file with at least one IFEval row")
    return rows[:limit]


def _language_undetected(response: str) -> bool:
    """IFEval scores a reply whose language langdetect cannot tell (digits, symbols) as following the language
    instruction; it is counted so that pass is never silent."""
    try:
        langdetect.detect(response)
    except langdetect.LangDetectException:
        return True
    return False


def score_response(row: dict, response: str) -> list[dict]:
    """{"id", "strict", "loose"} per instruction: strict on the reply as is; loose if any of IFEval's variants
    passes (first and/or last line removed, `*` removed). An empty reply follows nothing."""
    langdetect.DetectorFactory.seed = 0  # langdetect samples at random; seeded, a rerun scores the same
    variants = [v for v in get_loose_transformations(response) if v.strip()]
    out = []
    for iid, kwargs in zip(row["instruction_id_list"], row["kwargs"], strict=True):
        checker = build_checker(iid, kwargs, row["prompt"])
        strict = bool(response.strip()) and bool(checker.check_following(response))
        loose = any(checker.check_following(v) for v in variants)
        out.append({"id": iid, "strict": strict, "loose": loose})
    return out


def _rate(name: str, k: int, n: int) -> dict:
    return {name: k / n if n else 0.0, **proportion_fields(name, k, n)}


def _inst_rate(name: str, outcomes: list[list[dict]], mode: str) -> dict:
    """Instruction-level rate. stderr is the closed form over instructions (what lm-eval would print); ci95
    resamples whole prompts, because the instructions of one prompt pass or fail together more often than not."""
    counts = np.array([[sum(i[mode] for i in o), len(o)] for o in outcomes], dtype=float)
    lo, hi = bootstrap_ci(counts, lambda s: s[..., 0].sum(-1) / s[..., 1].sum(-1))
    return {**_rate(name, int(counts[:, 0].sum()), int(counts[:, 1].sum())), f"{name}_ci95": {"lo": lo, "hi": hi}}


def ifeval_report(rows: list[dict], responses: list[str], hits: list[bool]) -> tuple[dict, list[dict]]:
    """(metrics, per-prompt details) under lm-eval's metric names, each with `_stderr` and `_ci95` {lo, hi}.
    `pass_rate` repeats prompt-level strict accuracy, IFEval's headline, where the report reads the probe's."""
    if not len(rows) == len(responses) == len(hits):
        raise ValueError(f"{len(responses)} responses and {len(hits)} flags for {len(rows)} prompts")
    outcomes = [score_response(r, a) for r, a in zip(rows, responses, strict=True)]
    details = [{"key": r["key"], "prompt": r["prompt"], "answer": a, "hit_limit": h,
                "pass": all(i["strict"] for i in o), "pass_loose": all(i["loose"] for i in o), "instructions": o}
               for r, a, h, o in zip(rows, responses, hits, outcomes, strict=True)]
    n, strict = len(rows), sum(d["pass"] for d in details)
    metrics = {**_rate("pass_rate", strict, n), **_rate(METRICS[0], strict, n),
               **_rate(METRICS[1], sum(d["pass_loose"] for d in details), n),
               **_inst_rate(METRICS[2], outcomes, "strict"), **_inst_rate(METRICS[3], outcomes, "loose")}
    flat = [i for o in outcomes for i in o]
    by_id: dict[str, Counter] = {}
    for i in flat:
        by_id.setdefault(i["id"], Counter()).update(n=1, strict=i["strict"], loose=i["loose"])
    report = {
        "benchmark": "ifeval", **metrics, "n": n, "n_instructions": len(flat), "hit_limit": sum(hits),
        "substitute_splitter": {"instructions": sum(i["id"] in SUBSTITUTED for i in flat), "ids": list(SUBSTITUTED),
                                "why": "nltk punkt is a pickle: IFEval's rule-based splitter counts sentences"},
        "language_undetected": sum(_language_undetected(a) for r, a in zip(rows, responses, strict=True)
                                   if LANGUAGE in r["instruction_id_list"] and a.strip()),
        "by_instruction": {k: {"strict": c["strict"] / c["n"], "loose": c["loose"] / c["n"], "n": c["n"]}
                           for k, c in sorted(by_id.items())},
    }
    return report, details
