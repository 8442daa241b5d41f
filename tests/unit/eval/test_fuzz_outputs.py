"""Fuzz: hostile model outputs go through parse_output and score_predictions without raising, count as misses,
and finish quickly (the parser bounds its work)."""

from __future__ import annotations

import json
import random
import time

from voc.core.files import read_json, read_jsonl, write_json, write_jsonl, write_text
from voc.core.taxonomy import Taxonomy
from voc.eval.parsing import _parse, parse_output
from voc.eval.predictions import prediction_rows
from voc.eval.scoring.metrics import score_predictions

TAX = Taxonomy(levels=("L1", "L2"), leaves=(("App", "Login"), ("Store", "Staff")))
GOLD = [{"content": "login fails", "L1": "App", "L2": "Login", "emotion": "negative"}]
TOKENS = ['[', ']', '{', '}', '"', ':', ',', ' ', '\\', '"L1"', '"L2"', '"content"', '"emotion"', '"Shop"',
          'null', 'true', '1e999', '-0', '"\\ud800"', '```', '```json\n', '\n', 'Sure!']


def random_bytes(rng: random.Random) -> str:
    return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 3000))).decode("utf-8", errors="replace")


def random_unicode(rng: random.Random) -> str:
    return "".join(chr(rng.randrange(0x110000)) for _ in range(rng.randrange(1, 500)))


def token_soup(rng: random.Random) -> str:
    """JSON-looking junk whose only label values are never gold names."""
    return "".join(rng.choice(TOKENS) for _ in range(rng.randrange(1, 400)))


def truncated_first_object(rng: random.Random) -> str:
    """The gold answer cut inside its first object: nothing complete survives."""
    text = json.dumps(GOLD)
    return text[: rng.randrange(0, len(text) - 2)]


def hostile_outputs(seed: int = 1234) -> list[str]:
    rng = random.Random(seed)
    outs = [gen(rng) for gen in (random_bytes, random_unicode, token_soup, truncated_first_object)
            for _ in range(60)]
    outs += ["[" * 500_000, "{" * 300_000 + "}" * 300_000, '[{"a":' * 100_000,  # deep nesting
             "x" * 1_000_000, "[" + '"Shop",' * 150_000, "é" * 1_000_000 + json.dumps(GOLD),  # ~1 MB outputs
             "", "   ", "[]", "null", "```json\n```"]
    return outs


def test_hostile_outputs_never_raise_and_score_as_misses():
    start = time.perf_counter()
    outputs = hostile_outputs()
    for raw in outputs:
        parsed = _parse(raw, TAX.levels)  # the inner parser: the catch-all in parse_output must not be needed
        assert parsed == parse_output(raw, TAX.levels)
        assert parsed.status in {"ok", "repaired", "invalid"}
    records = [{"id": str(i), "text": "login fails", "segments": GOLD} for i in range(len(outputs))]
    rows = prediction_rows(records, outputs, TAX)  # both parses, lenient and Nova-rule, on every output
    metrics = score_predictions(rows, TAX, {"App/Login": 3})
    assert metrics["n"] == len(rows)
    assert (metrics["f1"], metrics["recall"], metrics["hierarchical"]["f1"], metrics["segment_f1"]) == (0, 0, 0, 0)
    assert json.loads(json.dumps(metrics)) == metrics
    assert time.perf_counter() - start < 30


def test_raw_bytes_are_accepted():
    """Random bytes (never a bracket) before the gold answer: the answer is found in every one."""
    rng = random.Random(7)
    for _ in range(50):
        junk = bytes(b for b in (rng.randrange(256) for _ in range(rng.randrange(0, 2000))) if b not in b"[]{}")
        blob = junk + json.dumps(GOLD, ensure_ascii=False).encode()
        parsed = _parse(blob, TAX.levels)  # type: ignore[arg-type] - the inner parser: no catch-all to hide a bug
        assert parsed == parse_output(blob, TAX.levels)  # type: ignore[arg-type]
        assert parsed.segments == GOLD and parsed.status == ("ok" if not junk.strip() else "repaired")


def test_model_output_with_lone_surrogates_is_written_safely(tmp_path):
    """A model can write the escape "\\ud83d" (half an emoji), or a backend can hand back a lone surrogate: the
    predictions, metrics and plot files are still written, as valid UTF-8, and read back the same."""
    outputs = ['[{"content": "login fails \\ud83d", "L1": "App", "L2": "Login", "emotion": "negative"}]',
               '\ud83d [{"content": "login fails", "L1": "App\udc00", "L2": "Login", "emotion": "negative"}]']
    records = [{"id": str(i), "text": "login fails", "segments": GOLD} for i in range(len(outputs))]
    rows = prediction_rows(records, outputs, TAX)
    assert [r["status"] for r in rows] == ["repaired", "repaired"]
    assert rows[1]["pred"][0]["L1"] == "App\ufffd"
    n = write_jsonl(tmp_path / "predictions.jsonl", rows)
    write_json(tmp_path / "metrics.json", score_predictions(rows, TAX, {}))
    write_json(tmp_path / "raw.json", {"raw": outputs[1]})
    write_text(tmp_path / "raw.txt", outputs[1])
    assert n == 2 and read_jsonl(tmp_path / "predictions.jsonl") == rows  # lossless, raw output included
    assert read_json(tmp_path / "raw.json") == {"raw": outputs[1]}
    (tmp_path / "predictions.jsonl").read_bytes().decode("utf-8")  # strict: valid UTF-8 on disk
    assert (tmp_path / "raw.txt").read_text(encoding="utf-8").startswith("\ufffd [{")
