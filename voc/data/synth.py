"""Self-synthesised replay, Magpie-style: the base (instruct) model writes the requests and then answers them, so a
user without a curated general-purpose corpus still gets replay data spread over chosen categories.

1. Plan: `replay.synth.n` requests split across `categories` by weight (largest remainder); a category whose hint
   names a `{language}` takes the `languages` in turn.
2. Request: the model gets its chat template rendered only up to where a user's message would start, after a
   system turn holding the category's hint (`user_turn_prefix`). What it writes there is a plausible request, ended
   by its own end-of-turn token. Sampled (`temperature`, `top_p`), each request from its own seeded generator.
3. Filter the requests (`voc.data.synth_filters`), answer the survivors through the chat template (greedy, or
   `answer_temperature`), filter the answers. Every drop is counted by filter and category.

Generation goes through the prefix-cached engine (`voc.model.decode.generate_shared_prefix`): the template's
opening is computed once per call. Sampling is its `logits_hook` (`Sampler`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from voc.core.errors import ParamsError, VocError
from voc.core.schema_replay import ReplaySynth
from voc.data.mixing import allocate
from voc.data.synth_filters import Duplicates, Tally, answer_problem, known_language, request_problem

PLACEHOLDER = "VOC-SYNTH-USER-TURN"  # rendered as the user's message, then cut off with everything after it
ASSISTANT = "You are a helpful AI assistant"
HINTS = {  # the system turn the request is written after: it says who the user is talking to, not what to ask
    "instruction_following": f"{ASSISTANT}. Users give you tasks with exact instructions on the form of the "
                             "answer: a length, a number of bullet points, a format such as JSON or a table.",
    "reasoning": f"{ASSISTANT} that solves reasoning problems step by step and answers in the format asked for.",
    "code": f"{ASSISTANT} that helps users write, explain and fix short programs, mostly in Python.",
    "planning": f"{ASSISTANT} that helps users plan schedules, trips, projects and step-by-step to-do lists.",
    "general": f"{ASSISTANT} that answers everyday questions about the world, science, history and language.",
    "math": f"{ASSISTANT} that solves math word problems and arithmetic, showing the working.",
    "writing": f"{ASSISTANT} that writes and edits short texts: emails, summaries, stories and poems.",
    "multilingual": f"{ASSISTANT}. Users write to you in {{language}} and you always answer in {{language}}.",
}
LANGUAGE_NAMES = {"de": "German", "fr": "French", "es": "Spanish", "it": "Italian", "pt": "Portuguese",
                  "nl": "Dutch", "pl": "Polish", "sv": "Swedish", "ru": "Russian", "tr": "Turkish",
                  "zh": "Chinese", "ja": "Japanese"}

Loader = Callable[[], tuple]  # () -> (model, tokenizer), called once the plan is known to be valid


@dataclass(frozen=True)
class Planned:
    """One request to write: its id and seed (`key`), category, system hint and target language (or None)."""

    key: str
    category: str
    hint: str
    language: str | None


def _language_check(cfg: ReplaySynth, hints: dict[str, str], where: str) -> None:
    if not any("{language}" in hints[c] for c in cfg.categories):
        return
    if not cfg.languages:
        raise ParamsError(where, None, "a replay.synth category's hint names a {language} but "
                          "replay.synth.languages is empty", "list ISO codes, e.g. languages: [de, fr, es]")
    for code in cfg.languages:
        if code not in LANGUAGE_NAMES or not known_language(code):
            raise ParamsError(where, None, f"replay.synth.languages holds {code!r}, which the language "
                              f"check does not know", f"use some of {sorted(LANGUAGE_NAMES)}")


def plan(cfg: ReplaySynth, where: str = "params.yaml") -> list[Planned]:
    """Every request to write, in a fixed order: categories by name, then their number. The key (not the
    position) seeds a request's sampling, so changing one category's weight leaves the others' requests alone.
    `where` is the params file, for errors."""
    hints = {**HINTS, **cfg.hints}
    unknown = sorted(set(cfg.categories) - set(hints))
    if unknown:
        raise ParamsError(where, None, f"replay.synth.categories names {unknown[0]!r}, which has no "
                          f"built-in hint ({', '.join(sorted(HINTS))})",
                          f"add replay.synth.hints: {{{unknown[0]}: <a system prompt for that kind of user>}}")
    _language_check(cfg, hints, where)
    counts = allocate(cfg.n, {c: float(w) for c, w in cfg.categories.items()})
    out = []
    for cat in sorted(counts):
        for k in range(counts[cat]):
            lang = cfg.languages[k % len(cfg.languages)] if "{language}" in hints[cat] else None
            hint = hints[cat].replace("{language}", LANGUAGE_NAMES[lang]) if lang else hints[cat]
            out.append(Planned(f"{cat}-{k:04d}", cat, hint, lang))
    return out


def user_turn_prefix(tokenizer, system: str) -> str:
    """The chat template rendered up to the start of a user's message, after a system turn holding `system`:
    derived from the template itself (a placeholder user message is rendered and cut off), so any chat model's
    own turn markers are used."""
    msgs = [{"role": "system", "content": system}, {"role": "user", "content": PLACEHOLDER}]
    try:
        text = tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=False)
    except Exception as e:  # jinja raises its own errors, e.g. templates that refuse a system turn
        raise VocError(f"the model's chat template cannot render a system turn ({e}). Fix: use replay kinds "
                       "replay/json/hf with this model, or a model whose template takes a system message") from e
    if text.count(PLACEHOLDER) != 1 or system not in text[:text.find(PLACEHOLDER)]:
        raise VocError("the model's chat template does not render the system hint before one user message. Fix: "
                       "use replay kinds replay/json/hf with this model, or give it a standard chat template")
    return text[:text.find(PLACEHOLDER)]


def seed_of(seed: int, salt: str, key: str) -> int:
    """A 63-bit seed per (run seed, phase, request): stable across processes and Python versions."""
    return int.from_bytes(hashlib.sha256(f"{seed}/{salt}/{key}".encode()).digest()[:8], "big") >> 1


class Sampler:
    """Temperature and top-p sampling as the decode engine's `logits_hook`: every prompt draws from its own
    generator, seeded by its key, so what a row writes does not depend on which rows share its batch. The hook
    returns scores whose argmax is the drawn token."""

    def __init__(self, keys: Sequence[str], seed: int, salt: str, temperature: float, top_p: float) -> None:
        self.keys, self.seed, self.salt, self.temperature, self.top_p = keys, seed, salt, temperature, top_p
        self.generators: dict[int, torch.Generator] = {}

    def _generator(self, row: int, device: torch.device) -> torch.Generator:
        if row not in self.generators:
            g = torch.Generator(device=device)
            self.generators[row] = g.manual_seed(seed_of(self.seed, self.salt, self.keys[row]))
        return self.generators[row]

    def __call__(self, rows: list[int], tokens: list[list[int]], scores: torch.Tensor) -> torch.Tensor:
        probs = torch.softmax(scores.float() / self.temperature, dim=-1)
        if self.top_p < 1:  # keep the most likely tokens until their mass reaches top_p (the first always)
            ranked, order = probs.sort(dim=-1, descending=True)
            ranked[ranked.cumsum(-1) - ranked > self.top_p] = 0
            probs = torch.zeros_like(probs).scatter_(-1, order, ranked)
        out = torch.full_like(scores, float("-inf"))
        for j, row in enumerate(rows):
            drawn = torch.multinomial(probs[j], 1, generator=self._generator(row, probs.device))
            out[j, drawn] = 0
        return out


def sample_with_hits(model, tokenizer, prompts: list[str], keys: list[str], seed: int, salt: str, temperature: float,
                     top_p: float, max_new_tokens: int, batch_size: int) -> tuple[list[str], list[bool]]:
    """Replies to rendered prompts and whether each hit `max_new_tokens`: greedy at temperature 0 (the engine
    every caller uses), else sampled through the prefix-cached engine."""
    from voc.model.decode import generate_shared_prefix
    from voc.model.generate import check_context, generate_with_hits
    from voc.model.prefix import supports_shared_prefix

    if not prompts:
        return [], []
    if temperature == 0:
        return generate_with_hits(model, tokenizer, prompts, max_new_tokens, batch_size, desc=f"synth {salt}")
    ids = tokenizer(prompts, add_special_tokens=False)["input_ids"]
    check_context(model, ids, max_new_tokens)
    if not supports_shared_prefix(model):
        raise VocError("replay.synth samples through the prefix-cached engine, which this model's attention "
                       "(sliding window, soft-capping or a custom kernel) cannot use. Fix: use replay kinds "
                       "replay/json/hf with this model")
    hook = Sampler(keys, seed, salt, temperature, top_p)
    return generate_shared_prefix(model, tokenizer, ids, max_new_tokens, batch_size, logits_hook=hook,
                                  desc=f"synth {salt}")


def synthesise(load: Loader, cfg: ReplaySynth, name: str, where: str = "params.yaml") -> tuple[list[dict], dict]:
    """The synth source's records (`{id, category, [language], messages}`) and its metrics/replay.json entry:
    requested = records + every filter's drops, per category and in total. The plan is checked (errors name
    `where`, the params file) before `load` loads the model."""
    from voc.model.generate import chat_prompt

    planned = plan(cfg, where)
    model, tok = load()
    tally = Tally({c: sum(p.category == c for p in planned) for c in cfg.categories})
    f, langs = cfg.filters, set(cfg.languages) | {"en"}
    requests, hits = sample_with_hits(model, tok, [user_turn_prefix(tok, p.hint) for p in planned],
                                      [p.key for p in planned], cfg.seed, "request", cfg.temperature, cfg.top_p,
                                      cfg.max_request_tokens, cfg.batch_size)
    dups, asked = Duplicates(f.near_duplicate), []
    for p, req, hit in zip(planned, requests, hits, strict=True):
        problem = request_problem(req, hit, p.hint, p.language, langs, f, dups, p.key)
        if problem:
            tally.drop(p.category, problem)
        else:
            asked.append((p, req))
    answers, hits = sample_with_hits(model, tok, [chat_prompt(tok, [{"role": "user", "content": r}]) for _, r in asked],
                                     [p.key for p, _ in asked], cfg.seed, "answer", cfg.answer_temperature,
                                     cfg.top_p, cfg.max_new_tokens, cfg.batch_size)
    rows = []
    for (p, req), ans, hit in zip(asked, answers, hits, strict=True):
        problem = answer_problem(ans, hit, p.language, langs, f)
        if problem:
            tally.drop(p.category, problem)
            continue
        tally.keep(p.category)
        lang = {"language": p.language} if p.language else {}
        rows.append({"id": f"{name}-{p.key}", "category": p.category, **lang,
                     "messages": [{"role": "user", "content": req}, {"role": "assistant", "content": ans}]})
    if not tally.counts_add_up():
        raise VocError("synth replay lost a request without counting it. Fix: report this bug")
    return rows, {"kind": "synth", **tally.report()}
