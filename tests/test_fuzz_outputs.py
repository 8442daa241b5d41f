"""Fuzz: hostile model outputs go through parse_output and score_predictions without raising, count as misses,
and finish quickly (the parser bounds its work)."""

from __future__ import annotations

import json
import random
import time

from voc.parsing import _parse, normalize_labels, parse_output
from voc.scoring import score_predictions
from voc.taxonomy import Taxonomy

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
    rows = []
    for i, raw in enumerate(hostile_outputs()):
        parsed = _parse(raw, TAX.levels)  # the inner parser: the catch-all in parse_output must not be needed
        assert parsed == parse_output(raw, TAX.levels)
        assert parsed.status in {"ok", "repaired", "invalid"}
        pred, _ = normalize_labels(parsed.segments, TAX)
        rows.append({"id": str(i), "text": "login fails", "gold": GOLD, "pred": pred, "raw": raw,
                     "status": parsed.status, "json_valid": parsed.json_valid,
                     "schema_complete": parsed.schema_complete})
    metrics = score_predictions(rows, TAX, {"App/Login": 3})
    assert metrics["n"] == len(rows)
    assert (metrics["f1"], metrics["recall"], metrics["hierarchical"]["f1"], metrics["segment_f1"]) == (0, 0, 0, 0)
    assert json.loads(json.dumps(metrics)) == metrics
    assert time.perf_counter() - start < 30


def test_raw_bytes_are_accepted():
    rng = random.Random(7)
    for _ in range(50):
        blob = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 2000)))
        assert parse_output(blob, TAX.levels).status in {"ok", "repaired", "invalid"}  # type: ignore[arg-type]
