"""Early stop at the end of a JSON array: a classification reply is one JSON array, so the reply is complete when
that array closes, whatever the model would write next.

Only a reply whose first non-blank character is `[` is watched, and only a properly nested close ends it: a reply
that opens with prose, a code fence or anything else, or whose brackets do not match, runs to its stop token or
`max_new_tokens` exactly as without this rule. So the rule only ever removes what follows a complete array.
"""

from __future__ import annotations

from collections.abc import Callable

OPENERS = {"[": "]", "{": "}"}


class ArrayEnd:
    """Watches one reply, a token's text at a time; `feed` returns True once the opening array has closed."""

    def __init__(self) -> None:
        self.state = "start"  # start -> open -> closed, or off (not an array, or mismatched brackets)
        self.stack: list[str] = []
        self.in_string = self.escaped = False

    def feed(self, text: str) -> bool:
        for ch in text:
            if self.state == "start":
                if ch.isspace():
                    continue
                self.state = "open" if ch == "[" else "off"
                self.stack = ["]"]
            elif self.state == "open":
                self._step(ch)
            if self.state in ("off", "closed"):
                break
        return self.state == "closed"

    def _step(self, ch: str) -> None:
        """One character inside the array: strings (with escapes) are skipped, brackets must nest."""
        if self.in_string:
            if self.escaped:
                self.escaped = False
            elif ch == "\\":
                self.escaped = True
            elif ch == '"':
                self.in_string = False
        elif ch == '"':
            self.in_string = True
        elif ch in OPENERS:
            self.stack.append(OPENERS[ch])
        elif ch in "]}":
            if ch != self.stack.pop():
                self.state = "off"
            elif not self.stack:
                self.state = "closed"


def token_texts(tokenizer) -> Callable[[int], str]:
    """A memoised token id -> text. Decoding one token alone is exact for the ASCII brackets, quotes and
    backslashes the watcher reads (a byte-level token never splits them); other characters do not matter. Special
    tokens read as nothing, as in the decoded reply."""
    cache: dict[int, str] = {}

    def text(token: int) -> str:
        if token not in cache:
            cache[token] = tokenizer.decode([token], skip_special_tokens=True)
        return cache[token]

    return text



def eos_ids(model) -> set[int]:
    """The tokens `generate` stops a reply on: the generation config's EOS ids (often several, e.g. end of turn
    and end of text)."""
    eos = getattr(model.generation_config, "eos_token_id", None)
    return {int(i) for i in (eos if isinstance(eos, list) else [eos]) if i is not None}


def reply_end_ids(model, tokenizer) -> set[int]:
    """`eos_ids` and the tokenizer's EOS: a reply holding any of them finished, so it did not hit the limit (the
    tokenizer's EOS counts even where `generate` does not stop on it)."""
    return eos_ids(model) | ({tokenizer.eos_token_id} if tokenizer.eos_token_id is not None else set())
