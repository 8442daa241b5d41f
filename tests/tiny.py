"""A tiny Llama and a locally trained tokenizer, so tests never need the network or the real model.

A plain module, not a test helper: tests get the model through conftest's `tiny_model_dir` / `build_tiny_model`
fixtures, the micro-benchmarks load this file by path, and the GPU box's smoke run (benchmarks/memd/gpu.sh)
imports `build_tiny_model` from it without pytest.
"""

from __future__ import annotations

from pathlib import Path

CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

_CORPUS = [
    "The camera app keeps crashing after the update. Night vision is blurry.",
    "Die Kamera ist super, aber die App stürzt ab. La livraison était rapide.",
    "The following are multiple choice questions (with answers) about anatomy. Answer: A B C D",
    '[{"content": "app crashes", "L1": "App", "L2": "Stability", "emotion": "negative"}]',
    "Write a haiku about the sea. Answer in exactly 3 bullet points. 12 + 7 = 19.",
    "def add(a, b):\n    return a + b\n",
]


def build_tokenizer(vocab_size: int = 400):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(_CORPUS * 20, trainer=trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|im_start|>", eos_token="<|im_end|>",
                                   pad_token="<|endoftext|>", unk_token="<|endoftext|>")
    fast.chat_template = CHATML
    return fast


def build_tiny_model(out_dir: str | Path, seed: int = 0, tie_word_embeddings: bool = True) -> Path:
    """Save a 2-layer Llama (hidden 32) with a ChatML tokenizer as a safetensors HF directory."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    out = Path(out_dir)
    tok = build_tokenizer()
    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=4096,
                      bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
                      tie_word_embeddings=tie_word_embeddings)
    model = LlamaForCausalLM(cfg)
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    return out

