"""Classification speed (issue 12, section 1): the reference, one `model.generate` per batch of whole prompts, against
the HF backend's shared-prefix decoding with the JSON-array early stop, side by side in one process on the same
prompts, as the taxonomy in the system prompt grows.

    python -m benchmarks.micro.classify                               # demo SFT model, 16 test comments
    python -m benchmarks.micro.classify --model tiny --n 2 --sizes demo --long-size 0   # seconds, tiny model

Sizes: `demo` is the taxonomy file as it is (the demo's 65 leaves); a number is a synthetic taxonomy of that many
leaves, the demo leaves repeated under numbered variants of their L2 names (a variant is a whole new subtree, so
the prompt grows per leaf about as the real one does). `--long-size` is a size whose prompt may outgrow the
model's context: the script shows the error there, then times it on a random-weight Llama built from a config
with a longer context (timing only: its replies are noise, and both sides decode the same number of tokens).
"""

from __future__ import annotations

import time
from pathlib import Path

import click
import torch

from benchmarks.micro.util import load, machine
from voc.core.errors import VocError
from voc.core.files import read_jsonl
from voc.core.taxonomy import Taxonomy, load_taxonomy
from voc.data.prompt import build_messages, system_prompt
from voc.eval.predictions import parse_row
from voc.model.generate import chat_prompt, check_context, generate_with_hits, reference_generate_with_hits
from voc.model.prefix import common_prefix_length


def synthetic_taxonomy(base: Taxonomy, leaves: int) -> Taxonomy:
    """`leaves` leaves: the base leaves, then copies whose L2 name carries a variant number (`Mounting 2`)."""
    out, variant = [], 1
    while len(out) < leaves:
        for leaf in base.leaves:
            out.append(leaf if variant == 1 else (leaf[0], f"{leaf[1]} {variant}", *leaf[2:]))
        variant += 1
    return Taxonomy(levels=base.levels, leaves=tuple(out[:leaves]))


def prompts_for(tok, taxonomy: Taxonomy, texts: list[str]) -> list[str]:
    system = system_prompt(taxonomy, "names")
    return [chat_prompt(tok, build_messages(t, system)) for t in texts]


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def compare(model, tok, prompts: list[str], taxonomy: Taxonomy, max_new_tokens: int, batch_size: int) -> dict:
    """Both sides once on the same prompts (after a two-prompt warm-up of each), and how their outputs compare."""
    for fn in (reference_generate_with_hits, generate_with_hits):
        fn(model, tok, prompts[:2], 2, batch_size)
    t_ref, (ref, ref_hits) = timed(lambda: reference_generate_with_hits(model, tok, prompts, max_new_tokens,
                                                                          batch_size))
    t_new, (new, new_hits) = timed(lambda: generate_with_hits(model, tok, prompts, max_new_tokens, batch_size,
                                                              stop_at_array_end=True))
    differ = [i for i in range(len(prompts)) if ref[i] != new[i]]
    ids = tok(prompts, add_special_tokens=False)["input_ids"]
    return {"n": len(prompts), "t_ref": t_ref, "t_new": t_new, "same": len(prompts) - len(differ),
            "same_score": sum(parse_row(ref[i], taxonomy) == parse_row(new[i], taxonomy) for i in differ),
            "hits": (sum(ref_hits), sum(new_hits)), "prefix": common_prefix_length(ids),
            "tokens": sum(map(len, ids)) / len(ids), "differ": differ}


def report(label: str, leaves: int, r: dict) -> None:
    print(f"\n[{label}] {leaves} leaves: prompts {r['tokens']:.0f} tokens on average, shared prefix {r['prefix']}")
    for name, secs in (("reference generate", r["t_ref"]), ("shared prefix + early stop", r["t_new"])):
        print(f"  {name:>27}: {secs:8.2f} s  {r['n'] / secs:7.3f} comments/s")
    print(f"  speed-up: {r['t_ref'] / r['t_new']:.2f}x   identical outputs: {r['same']}/{r['n']}"
          f" (of the others, {r['same_score']}/{len(r['differ'])} parse and score the same)"
          f"   hit max_new_tokens: reference {r['hits'][0]}, new {r['hits'][1]}")


def long_context_model(tok, context: int, layers: int, hidden: int):
    """A random-weight Llama with `context` positions, built from a config (no download), for timing only."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=hidden, intermediate_size=2 * hidden,
                      num_hidden_layers=layers, num_attention_heads=hidden // 64, num_key_value_heads=1,
                      max_position_embeddings=context, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                      pad_token_id=tok.pad_token_id, tie_word_embeddings=True)
    model = LlamaForCausalLM(cfg).eval()
    model.generation_config.eos_token_id, model.generation_config.pad_token_id = tok.eos_token_id, tok.pad_token_id
    return model


@click.command()
@click.option("--model", default="models/sft", show_default=True, help="HF model dir, or `tiny` (test model)")
@click.option("--comments", default="data/prepared/voc/test.jsonl", show_default=True, type=click.Path(exists=True))
@click.option("--taxonomy", "taxonomy_path", default="data/prepared/voc/taxonomy.csv", show_default=True,
              type=click.Path(exists=True))
@click.option("--n", default=16, show_default=True, help="comments (the first n)")
@click.option("--batch-size", default=16, show_default=True)
@click.option("--max-new-tokens", default=256, show_default=True, help="as eval.max_new_tokens")
@click.option("--sizes", default="demo,300", show_default=True, help="comma-separated: demo or a leaf count")
@click.option("--long-size", default=1420, show_default=True, help="leaves past the model's context; 0 skips")
@click.option("--long-n", default=32, show_default=True, help="comments at --long-size")
@click.option("--long-max-new-tokens", default=16, show_default=True)
@click.option("--long-context", default=32768, show_default=True, help="positions of the long-context model")
@click.option("--long-layers", default=2, show_default=True)
@click.option("--long-hidden", default=128, show_default=True, help="hidden size (64 per head)")
@click.option("--threads", default=0, help="torch threads (0: torch's default); 1 is steadier on a busy machine")
def main(model: str, comments: str, taxonomy_path: str, n: int, batch_size: int, max_new_tokens: int, sizes: str,
         long_size: int, long_n: int, long_max_new_tokens: int, long_context: int, long_layers: int,
         long_hidden: int, threads: int) -> None:
    """Print comments/s for both sides at each taxonomy size, the speed-up and the identical-output count."""
    if threads:
        torch.set_num_threads(threads)
    m, tok, label = load(None if model == "tiny" else model)
    base = load_taxonomy(Path(taxonomy_path))
    texts = [r["text"] for r in read_jsonl(Path(comments))]
    print(f"model: {label}\nmachine: {machine()}\n{n} comments, batch {batch_size}, greedy, "
          f"max_new_tokens={max_new_tokens}; each side timed once after a warm-up")
    for size in filter(None, sizes.split(",")):
        taxonomy = base if size == "demo" else synthetic_taxonomy(base, int(size))
        r = compare(m, tok, prompts_for(tok, taxonomy, texts[:n]), taxonomy, max_new_tokens, batch_size)
        report(size, len(taxonomy.leaves), r)
    if long_size:
        taxonomy = synthetic_taxonomy(base, long_size)
        prompts = prompts_for(tok, taxonomy, texts[:long_n])
        try:
            check_context(m, tok(prompts, add_special_tokens=False)["input_ids"], max_new_tokens)
            print(f"\n[{long_size}] fits {label}'s context")
        except VocError as e:
            print(f"\n[{long_size}] on {label}: VocError: {e}")
        long = long_context_model(tok, long_context, long_layers, long_hidden)
        print(f"timing it on a random-weight Llama ({long_layers} layers, hidden {long_hidden}, context "
              f"{long_context}), {long_n} comments, max_new_tokens={long_max_new_tokens}:")
        report(f"{long_size}, long-context model", long_size,
               compare(long, tok, prompts, taxonomy, long_max_new_tokens, batch_size))


if __name__ == "__main__":
    main()
