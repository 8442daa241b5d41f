"""Stage `prepare`: raw taxonomy + comments -> validated SFT chat records and a leak-free test split."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import click

from voc.core.files import write_json, write_jsonl
from voc.core.params import load_params
from voc.core.taxonomy import load_taxonomy
from voc.data.comments import leaf_counts, load_comments
from voc.data.decontam import find_hits, split_overlap
from voc.data.prompt import build_messages, system_prompt
from voc.model.loading import load_tokenizer
from voc.train.examples import token_length_stats


def seeded_split(rows: list[dict], test_size: float, seed: int) -> tuple[list[dict], list[dict]]:
    """Shuffle with the seed and cut; the test split keeps at least one comment."""
    order = list(rows)
    random.Random(seed).shuffle(order)
    n_test = max(1, round(len(order) * test_size))
    return order[n_test:], order[:n_test]


def remove_leaks(train: list[dict], test: list[dict], ngram: int) -> tuple[list[dict], int]:
    """The test split stays fixed; a training comment that (near-)duplicates a test comment, contains one, or
    shares an n-gram with one is removed and counted (the `decontam` stage would otherwise fail later)."""
    test_texts = [r["text"] for r in test]
    near = {i for i, _, _ in split_overlap([r["text"] for r in train], test_texts)}
    rows = [{"id": str(i), "messages": [{"role": "user", "content": r["text"]}]} for i, r in enumerate(train)]
    overlap = {int(h.train_id) for h in find_hits(rows, {"voc": test_texts}, ngram)}
    drop = near | overlap
    return [r for i, r in enumerate(train) if i not in drop], len(drop)


@click.command()
@click.option("--params", "params_path", default="params.yaml", type=click.Path(exists=True))
@click.option("--out", default="data/prepared/voc", type=click.Path())
@click.option("--metrics", default="metrics/data.json", type=click.Path())
@click.option("--plot", default="metrics/plots/leaf_frequency.json", type=click.Path())
@click.option("--tokenizer", "tokenizer_dir", default=None, type=click.Path(exists=True),
              help="base model folder: token lengths of prompt and answer as sft will see them (skipped if unset)")
def main(params_path: str, out: str, metrics: str, plot: str, tokenizer_dir: str | None) -> None:
    p = load_params(params_path, "seed", "data", "prepare", "prompt", "decontam", "model")
    data, prep = p.data, p.prepare
    taxonomy = load_taxonomy(data.taxonomy)
    strict, max_chars = prep.strict, prep.max_chars
    threshold = prep.fuzzy_threshold  # where a segment's content is looked for
    loaded = load_comments(data.comments, taxonomy, strict=strict, max_chars=max_chars, threshold=threshold)
    if data.test_file:
        test_loaded = load_comments(data.test_file, taxonomy, strict=strict, max_chars=max_chars,
                                    threshold=threshold)
        train, test = loaded.accepted, test_loaded.accepted
        rejects = loaded.rejects + test_loaded.rejects
    else:
        train, test = seeded_split(loaded.accepted, prep.test_size, p.seed)
        test_loaded, rejects = None, loaded.rejects
    train, leaked = remove_leaks(train, test, p.decontam.ngram)

    system = system_prompt(taxonomy, p.prompt.taxonomy)
    def records(rows: list[dict]) -> list[dict]:
        return [{**r, "messages": build_messages(r["text"], system, r["segments"], taxonomy.levels)} for r in rows]

    outdir = Path(out)
    outdir.mkdir(parents=True, exist_ok=True)
    write_jsonl(outdir / "train.jsonl", records(train))
    write_jsonl(outdir / "test.jsonl", records(test))
    write_jsonl(outdir / "rejects.jsonl", rejects)
    shutil.copyfile(data.taxonomy, outdir / "taxonomy.csv")
    counts = loaded.counts()
    if test_loaded:
        counts["test_file"] = test_loaded.counts()
    counts.update({"fuzzy_threshold": threshold, "train": len(train), "test": len(test),
                   "split_overlaps_removed": leaked, "leaves": len(taxonomy.leaves), "levels": taxonomy.depth,
                   "segments_train": sum(len(r["segments"]) for r in train)})
    if tokenizer_dir:  # p50/p95/p99/max of prompt, answer and both, to size sft.max_length and eval.max_new_tokens
        tok = load_tokenizer(tokenizer_dir, p.model.trust_remote_code)
        counts["tokens"] = token_length_stats(records(train) + records(test), tok)
    write_json(metrics, counts)
    freq = leaf_counts(train, taxonomy.levels)
    write_json(plot, [{"rank": i, "leaf": leaf, "count": n} for i, (leaf, n) in enumerate(freq.items(), 1)])
    click.echo(f"prepare: read {counts['read']}, accepted {counts['accepted']}, rejected {counts['rejected']}; "
               f"train {len(train)}, test {len(test)}, overlapping train comments removed {leaked}")


if __name__ == "__main__":
    main()
