"""The demo generator: deterministic, well-formed, long-tailed, partly multilingual, and committed as generated."""

from __future__ import annotations

import re
import statistics
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from voc.core.files import read_jsonl
from voc.core.taxonomy import load_taxonomy, path_key
from voc.data.demo.generate import generate_demo, main

ROOT = Path(__file__).resolve().parents[3]
COMMITTED = ROOT / "data" / "raw" / "demo"
# Every English subject starts with "the", "my" or "after"; none of the translations contains these words.
ENGLISH_MARKERS = re.compile(r"\b(the|my|after)\b", re.IGNORECASE)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("demo")
    return out, generate_demo(out, n_comments=600, seed=0)


def _leaf(seg: dict) -> tuple[str, ...]:
    return tuple(seg[f"L{i}"] for i in range(1, 5))


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    generate_demo(a, 200, seed=7)
    generate_demo(b, 200, seed=7)
    generate_demo(c, 200, seed=8)
    for name in ("taxonomy.csv", "comments.jsonl"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    assert (a / "comments.jsonl").read_bytes() != (c / "comments.jsonl").read_bytes()


def test_taxonomy_has_four_levels_and_enough_leaves(demo) -> None:
    out, counts = demo
    tax = load_taxonomy(out / "taxonomy.csv")
    assert tax.levels == ("L1", "L2", "L3", "L4")
    assert len(tax.leaves) >= 60 and counts["leaves"] == len(tax.leaves)
    assert all(tax.descriptions[leaf] for leaf in tax.leaves)
    assert all(len(name.split()) <= 2 for leaf in tax.leaves for name in leaf)


def test_segments_are_spans_on_taxonomy_leaves(demo) -> None:
    out, counts = demo
    tax = load_taxonomy(out / "taxonomy.csv")
    rows = read_jsonl(out / "comments.jsonl")
    assert len(rows) == counts["comments"] == 600
    for row in rows:
        assert 1 <= len(row["segments"]) <= 4
        assert row["text"] == " ".join(s["content"] for s in row["segments"])
        for seg in row["segments"]:
            assert seg["content"] in row["text"]
            assert tax.has_path(_leaf(seg)) and len(_leaf(seg)) == tax.depth
            assert seg["emotion"] in {"positive", "negative", "neutral"}
    assert counts["segments"] == sum(len(r["segments"]) for r in rows)


def test_ids_and_texts_unique(demo) -> None:
    rows = read_jsonl(demo[0] / "comments.jsonl")
    assert [r["id"] for r in rows[:2]] == ["demo-00001", "demo-00002"]
    assert len({r["id"] for r in rows}) == len(rows)
    assert len({r["text"] for r in rows}) == len(rows)


def test_non_english_share(demo) -> None:
    out, counts = demo
    rows = read_jsonl(out / "comments.jsonl")
    foreign = [r for r in rows if not ENGLISH_MARKERS.search(r["text"])]
    assert 0.10 <= len(foreign) / len(rows) <= 0.20
    assert len(foreign) == counts["non_english"]
    assert set(counts["languages"]) == {"en", "de", "fr", "es", "ja"}
    assert any(re.search(r"[\u3040-\u30ff]", r["text"]) for r in foreign)  # some Japanese


def test_leaf_frequencies_have_a_long_tail(demo) -> None:
    out, _ = demo
    tax = load_taxonomy(out / "taxonomy.csv")
    freq = Counter(path_key(_leaf(s)) for r in read_jsonl(out / "comments.jsonl") for s in r["segments"])
    per_leaf = [freq[path_key(leaf)] for leaf in tax.leaves]
    assert max(per_leaf) >= 5 * statistics.median(per_leaf)


def test_sentiment_wording_matches_label(demo) -> None:
    rows = read_jsonl(demo[0] / "comments.jsonl")
    segs = [s for r in rows for s in r["segments"]]
    assert not any(s["content"].startswith(("Sadly", "Unfortunately", "Big minus"))
                   for s in segs if s["emotion"] != "negative")
    assert not any(s["content"].startswith(("Happy to report", "Big plus"))
                   for s in segs if s["emotion"] != "positive")


def test_committed_demo_matches_generator(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--out", str(tmp_path), "--n", "600", "--seed", "0"])
    assert result.exit_code == 0, result.output
    for name in ("taxonomy.csv", "comments.jsonl"):
        assert (tmp_path / name).read_bytes() == (COMMITTED / name).read_bytes(), (
            f"data/raw/demo/{name} is stale: run python -m voc.data.demo.generate --out data/raw/demo --n 600 --seed 0")
