"""Taxonomy-constrained decoding (issue 12, section 1b): llguidance against xgrammar, side by side in one process, on
the same taxonomy grammar (`voc.model.constrained.grammar_rules`, rendered as Lark and as GBNF-style EBNF), the
same tokenizer and the same answers, as the taxonomy grows. This is what chose llguidance for `eval.constrained`.

    python -m benchmarks.micro.constrained                      # demo tokenizer, 60 / 300 / 1,420 leaves
    python -m benchmarks.micro.constrained --model tiny --sizes demo --answers 4    # seconds, tiny tokenizer

Per size and library: the grammar's size, the one-off cost (the tokenizer's conversion, then the grammar's
compile), and the per-token cost of decoding: computing the next-token mask and advancing the matcher, along the
gold answers of the test split, token by token (the answers' leaves are demo leaves, which every synthetic
taxonomy keeps). Both grammars leave `content` unbounded (xgrammar has no token cap), so both enforce one
language; `llguidance (voc)` is the grammar voc runs, with the content's token cap.
"""

from __future__ import annotations

import statistics
import time

import click
import torch

from benchmarks.micro.classify import synthetic_taxonomy
from benchmarks.micro.util import load, machine
from voc.core.files import read_jsonl
from voc.core.taxonomy import Taxonomy, load_taxonomy
from voc.data.prompt import target_json
from voc.model.constrained import STRING_BODY, banned, grammar_rules, lark_grammar
from voc.model.stopping import eos_ids

EBNF_TEXT = r'text ::= ([^"\\\x00-\x1f] | "\\" ["\\bfnrt] | "\\u" [0-9a-fA-F]{4})*'


def ebnf_grammar(taxonomy: Taxonomy) -> str:
    """The same rules in xgrammar's (GBNF-style) EBNF."""
    rules = [("root" if name == "start" else name, body) for name, body in grammar_rules(taxonomy)]
    return "\n".join(f"{name} ::= {body}" for name, body in rules) + "\n" + EBNF_TEXT + "\n"


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


class Llguidance:
    name = "llguidance"

    def __init__(self, tok, vocab: int, stop: list[int]) -> None:
        import llguidance.hf
        import llguidance.torch

        self.lib, self.vocab = llguidance, vocab
        self.t_tokenizer, self.tok = timed(lambda: llguidance.hf.from_tokenizer(tok, n_vocab=vocab, eos_token=stop))
        self.bitmask = llguidance.torch.allocate_token_bitmask(1, vocab)

    def compile(self, taxonomy: Taxonomy, content_tokens: int | None = None) -> tuple[str, object]:
        text = lark_grammar(taxonomy, content_tokens) if content_tokens else \
            "\n".join(f"{n}: {b}" for n, b in grammar_rules(taxonomy)) + f"\ntext: /{STRING_BODY}/\n"
        matcher = self.lib.LLMatcher(self.tok, text, log_level=0)
        assert not matcher.is_error(), matcher.get_error()
        return text, matcher

    def walk(self, compiled, answer: list[int]) -> None:
        m = compiled.deep_copy()
        for t in answer:
            self.lib.torch.fill_next_token_bitmask(m, self.bitmask, 0)
            assert m.consume_token(t), m.get_error()


class Xgrammar:
    name = "xgrammar"

    def __init__(self, tok, vocab: int, stop: list[int]) -> None:
        import xgrammar

        self.lib = xgrammar
        self.t_tokenizer, info = timed(lambda: xgrammar.TokenizerInfo.from_huggingface(tok, vocab_size=vocab,
                                                                                       stop_token_ids=stop))
        self.compiler = xgrammar.GrammarCompiler(info, cache_enabled=False)
        self.bitmask = xgrammar.allocate_token_bitmask(1, vocab)

    def compile(self, taxonomy: Taxonomy, content_tokens: int | None = None) -> tuple[str, object]:
        text = ebnf_grammar(taxonomy)
        return text, self.compiler.compile_grammar(text)

    def walk(self, compiled, answer: list[int]) -> None:
        m = self.lib.GrammarMatcher(compiled)
        for t in answer:
            m.fill_next_token_bitmask(self.bitmask)
            assert m.accept_token(t), t


def measure(lib, taxonomy: Taxonomy, answers: list[list[int]], content_tokens: int | None = None) -> dict:
    t_compile, (text, compiled) = timed(lambda: lib.compile(taxonomy, content_tokens))
    lib.walk(compiled, answers[0])  # warm-up
    per_answer = [timed(lambda a=a: lib.walk(compiled, a))[0] / len(a) for a in answers]
    return {"chars": len(text), "rules": text.count("\n"), "compile": t_compile,
            "token_us": statistics.mean(per_answer) * 1e6, "tokens": sum(map(len, answers))}


def unpack_us(vocab: int, rows: int) -> float:
    """voc's bitmask unpacking and masked fill, per row and step (microseconds)."""
    bitmask, scores = torch.full((rows, (vocab + 31) // 32), -1, dtype=torch.int32), torch.zeros(rows, vocab)
    secs, _ = timed(lambda: [scores.masked_fill_(banned(bitmask, vocab), float("-inf")) for _ in range(50)])
    return secs / 50 / rows * 1e6


@click.command()
@click.option("--model", default="models/sft", show_default=True, help="a model folder (its tokenizer), or tiny")
@click.option("--comments", default="data/prepared/voc/test.jsonl", show_default=True, type=click.Path(exists=True),
              help="records with gold segments")
@click.option("--taxonomy", "taxonomy_path", default="data/prepared/voc/taxonomy.csv", show_default=True,
              type=click.Path(exists=True))
@click.option("--sizes", default="demo,300,1420", show_default=True, help="demo (the taxonomy as is) or a count")
@click.option("--answers", default=16, show_default=True, help="gold answers walked token by token")
def main(model: str, comments: str, taxonomy_path: str, sizes: str, answers: int) -> None:
    model_, tok, label = load(None if model == "tiny" else model)
    base = load_taxonomy(taxonomy_path)
    records = read_jsonl(comments)[:answers]
    golds = [tok(target_json(r["segments"], base.levels), add_special_tokens=False)["input_ids"] for r in records]
    vocab, stop = model_.config.vocab_size, sorted(eos_ids(model_))
    libs = [Llguidance(tok, vocab, stop), Xgrammar(tok, vocab, stop)]
    print(machine(), "|", label)
    print("tokenizer conversion (once per model): " + ", ".join(f"{x.name} {x.t_tokenizer:.2f} s" for x in libs))
    print(f"{len(golds)} gold answers, {sum(map(len, golds))} tokens; voc's mask unpacking "
          f"{unpack_us(vocab, 16):.0f} us per row and step (batch 16)")
    for size in sizes.split(","):
        taxonomy = base if size == "demo" else synthetic_taxonomy(base, int(size))
        rows = [(x.name, measure(x, taxonomy, golds)) for x in libs]
        rows.append(("llguidance (voc)", measure(libs[0], taxonomy, golds, content_tokens=200)))
        print(f"\n{len(taxonomy.leaves)} leaves:")
        for name, r in rows:
            print(f"  {name:>16}: grammar {r['chars'] / 1024:7.1f} KiB in {r['rules']:5d} rules, compile "
                  f"{r['compile'] * 1e3:8.1f} ms, mask + advance {r['token_us']:7.1f} us/token")
        ll, xg = rows[0][1], rows[1][1]
        print(f"  xgrammar / llguidance: compile {xg['compile'] / ll['compile']:.2f}x, "
              f"per token {xg['token_us'] / ll['token_us']:.2f}x")


if __name__ == "__main__":
    main()
