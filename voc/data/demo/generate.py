"""Deterministic demo data: a 4-level taxonomy and synthetic feedback for a home security camera.

The pipeline must run end to end without private data, so this module fabricates a realistic-looking
dataset: short label names (the whole taxonomy goes into every prompt), a Zipf-like long tail of leaf
frequencies, per-segment sentiment, and about 15 % of comments in German, French, Spanish or Japanese.
Everything comes from one seeded `random.Random`, so a seed always yields the same bytes.

Most of this file is data: one entry per leaf (path, description, subject, positive / negative / neutral
predicates) and a few whole-sentence translations. Sentences are built as frame(subject, predicate), and
the frames carry the same sentiment as the predicate, so the wording always matches the label.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import click

from voc.core.files import write_jsonl
from voc.core.taxonomy import Taxonomy, write_taxonomy
from voc.data.demo.phrases import FRAMES, TRANSLATIONS
from voc.data.demo.tables import LEAVES

LEVELS = ("L1", "L2", "L3", "L4")
ZIPF_EXPONENT = 1.1
NON_ENGLISH_SHARE = 0.15
SEGMENT_COUNTS = {1: 0.35, 2: 0.35, 3: 0.2, 4: 0.1}
EMOTIONS = {"negative": 0.45, "positive": 0.35, "neutral": 0.2}
MAX_ATTEMPTS = 200

# (path, description, subject, positive|predicates, negative|predicates, neutral predicate)
_SENTIMENT_INDEX = {"positive": 0, "negative": 1, "neutral": 2}
_SPECS = {entry[0]: entry for entry in LEAVES}


def demo_taxonomy() -> Taxonomy:
    """The fixed demo taxonomy (the leaf order is the table order, so the CSV is stable)."""
    leaves = tuple(tuple(key.split("/")) for key, *_ in LEAVES)
    descriptions = {tuple(key.split("/")): desc for key, desc, *_ in LEAVES}
    return Taxonomy(levels=LEVELS, leaves=leaves, descriptions=descriptions)


def _zipf_weights(rng: random.Random) -> dict[str, float]:
    """Weight 1/rank^s over a seeded shuffle of the leaves: a long tail that differs per seed."""
    keys = [key for key, *_ in LEAVES]
    rng.shuffle(keys)
    return {key: 1.0 / (rank ** ZIPF_EXPONENT) for rank, key in enumerate(keys, start=1)}


def _pick(rng: random.Random, table: dict) -> object:
    return rng.choices(list(table), weights=list(table.values()))[0]


def _sample_leaves(rng: random.Random, weights: dict[str, float], k: int) -> list[str]:
    """Weighted sampling without replacement, so one comment never repeats a leaf."""
    pool = dict(weights)
    chosen: list[str] = []
    for _ in range(min(k, len(pool))):
        key = _pick(rng, pool)
        chosen.append(key)
        del pool[key]
    return chosen


def _english_sentence(rng: random.Random, key: str, emotion: str) -> str:
    _, _, subject, pos, neg, neu = _SPECS[key]
    predicate = rng.choice({"positive": pos, "negative": neg, "neutral": neu}[emotion].split("|"))
    frame = rng.choice(FRAMES[emotion])
    return frame.format(S=subject[0].upper() + subject[1:], s=subject, p=predicate)


def _sentence(rng: random.Random, lang: str, key: str, emotion: str) -> str:
    if lang == "en":
        return _english_sentence(rng, key, emotion)
    return TRANSLATIONS[lang][key][_SENTIMENT_INDEX[emotion]]


def _comment(rng: random.Random, lang: str, weights: dict[str, float]) -> tuple[str, list[dict]]:
    """One comment: 1-4 segments on distinct leaves, each a sentence in `lang` with its own sentiment."""
    if lang != "en":
        weights = {k: w for k, w in weights.items() if k in TRANSLATIONS[lang]}
    segments = []
    for key in _sample_leaves(rng, weights, _pick(rng, SEGMENT_COUNTS)):
        emotion = _pick(rng, EMOTIONS)
        seg = {"content": _sentence(rng, lang, key, emotion)}
        seg.update(zip(LEVELS, key.split("/"), strict=True))
        seg["emotion"] = emotion
        segments.append(seg)
    return " ".join(s["content"] for s in segments), segments


def build_comments(n_comments: int, seed: int) -> tuple[list[dict], Counter]:
    """Generate the comment records and a count per language.

    Texts are unique: an exact duplicate would leak across a train/test split, so a comment whose text was
    already produced is re-drawn (new segment count, leaves, sentiments and phrasings) up to MAX_ATTEMPTS
    times; if the template space is exhausted we raise instead of silently emitting duplicates.
    """
    rng = random.Random(seed)
    weights = _zipf_weights(rng)
    n_foreign = round(n_comments * NON_ENGLISH_SHARE)
    foreign = set(rng.sample(range(n_comments), n_foreign))
    languages = sorted(TRANSLATIONS)
    seen: set[str] = set()
    rows, by_lang = [], Counter()
    for i in range(n_comments):
        lang = rng.choice(languages) if i in foreign else "en"
        for _ in range(MAX_ATTEMPTS):
            text, segments = _comment(rng, lang, weights)
            if text not in seen:
                break
        else:
            raise RuntimeError(f"could not make {n_comments} unique comments; use a smaller --n")
        seen.add(text)
        by_lang[lang] += 1
        rows.append({"id": f"demo-{i + 1:05d}", "text": text, "segments": segments})
    return rows, by_lang


def generate_demo(out_dir: Path, n_comments: int = 600, seed: int = 0) -> dict:
    """Write `taxonomy.csv` and `comments.jsonl` under `out_dir`; return counts for logging and tests."""
    out_dir = Path(out_dir)
    taxonomy = demo_taxonomy()
    rows, by_lang = build_comments(n_comments, seed)
    write_taxonomy(out_dir / "taxonomy.csv", taxonomy)
    write_jsonl(out_dir / "comments.jsonl", rows)
    return {
        "comments": len(rows),
        "segments": sum(len(r["segments"]) for r in rows),
        "leaves": len(taxonomy.leaves),
        "non_english": len(rows) - by_lang["en"],
        "languages": dict(sorted(by_lang.items())),
    }


@click.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("data/raw/demo"),
              show_default=True, help="Folder for taxonomy.csv and comments.jsonl.")
@click.option("--n", "n_comments", type=click.IntRange(min=1), default=600, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
def main(out: Path, n_comments: int, seed: int) -> None:
    """Generate the demo taxonomy and comments (same seed, same bytes)."""
    click.echo(json.dumps(generate_demo(out, n_comments, seed)))


if __name__ == "__main__":
    main()
