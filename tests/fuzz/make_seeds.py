#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_gguf: tiny but complete GGUF models (a few KiB each, far below
the fuzzer's -max_len) that reach every stage of Strata's GGUF path, plus truncated and
bit-flipped copies that start the fuzzer on the error paths.

    python3 tests/fuzz/make_seeds.py            # rewrites tests/fuzz/corpus/

The real quantised blocks come from tests/data/gguf/quants/*.blocks (checked against gguf-py)."""
import random
from pathlib import Path

import numpy as np
import gguf

HERE = Path(__file__).resolve().parent
QUANTS = HERE.parent / "data" / "gguf" / "quants"
T = gguf.GGMLQuantizationType


def row_of(qtype: str, elements: int) -> np.ndarray:
    """The stored bytes of the first elements of a fixture tensor (2048 elements) of this type."""
    blocks = (QUANTS / f"{qtype}.blocks").read_bytes()
    return np.frombuffer(blocks[: len(blocks) * elements // 2048], dtype=np.uint8).copy()


def llama3_rope_divisors(head_dim: int, base: float) -> np.ndarray:
    """rope_freqs.weight as llama.cpp writes it for llama3 rope scaling (factor 8, low 1, high 4,
    original context 64): one divisor per rotary frequency."""
    factor, low, high, original = 8.0, 1.0, 4.0, 64
    out = []
    for i in range(0, head_dim, 2):
        wavelen = 2 * np.pi * base ** (i / head_dim)
        if wavelen < original / high:
            out.append(1.0)
        elif wavelen > original / low:
            out.append(factor)
        else:
            smooth = (original / wavelen - low) / (high - low)
            out.append(1 / ((1 - smooth) / factor + smooth))
    return np.array(out, dtype=np.float32)


def gpt2_vocab(w: gguf.GGUFWriter, pre: str) -> int:
    tokens = ["<s>", "</s>", "<|im_end|>"] + list("abcdehlorwĠ,!") + ["he", "ll", "hell", "hello", "Ġw", "Ġwor"]
    types = [3, 3, 3] + [1] * (len(tokens) - 3)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(pre)
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(["h e", "l l", "he ll", "hell o", "Ġ w", "Ġw o", "Ġwo r"])
    w.add_bos_token_id(0)
    w.add_eos_token_id(1)
    w.add_add_bos_token(True)
    return len(tokens)


def sentencepiece_vocab(w: gguf.GGUFWriter) -> int:
    tokens = ["<unk>", "<s>", "</s>", "<end_of_turn>"] + [f"<0x{b:02X}>" for b in range(256)]
    types = [2, 3, 3, 3] + [6] * 256
    words = ["▁", "h", "e", "l", "o", "w", "r", "d", "▁h", "he", "ll", "▁he", "llo", "▁hello", "▁w", "or", "▁wor"]
    tokens += words + ["<extra id>"]
    types += [1] * len(words) + [4]
    scores = [0.0] * 260 + [-float(i) for i in range(len(words))] + [-1000.0]
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    w.add_unk_token_id(0)
    w.add_add_bos_token(True)
    w.add_add_space_prefix(True)
    return len(tokens)


def model(path: Path, arch: str, quant: str) -> None:
    hidden, ffn, heads, kv_heads, head_dim, layers = 32, 64, 2, 1, 16, 1
    w = gguf.GGUFWriter(path, arch)
    w.add_context_length(64)
    w.add_embedding_length(hidden)
    w.add_block_count(layers)
    w.add_feed_forward_length(ffn)
    w.add_head_count(heads)
    w.add_head_count_kv(kv_heads)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_rope_freq_base(10000.0)
    if arch != "llama":
        w.add_key_length(head_dim)
        w.add_value_length(head_dim)
    if arch == "gemma3":
        w.add_sliding_window(4)
        vocab = sentencepiece_vocab(w)
    else:
        vocab = gpt2_vocab(w, "qwen2" if arch == "qwen3" else "llama-bpe")
    rng = np.random.default_rng(1)

    def f32(name: str, shape) -> None:
        w.add_tensor(name, (rng.standard_normal(shape) * 0.1 + (1.0 if "norm" in name else 0)).astype(np.float32))

    def quantised(name: str, rows: int, cols: int) -> None:
        # Every row holds the same real blocks: the values do not matter, the decoding does.
        data = np.tile(row_of(quant, cols), rows)
        w.add_tensor(name, data, raw_shape=[rows, data.size // rows], raw_dtype=T[quant])

    quantised("token_embd.weight", vocab, hidden)
    if arch == "llama":
        w.add_tensor("rope_freqs.weight", llama3_rope_divisors(head_dim, 10000.0))
    f32("output_norm.weight", (hidden,))
    b = "blk.0."
    f32(b + "attn_norm.weight", (hidden,))
    f32(b + "ffn_norm.weight", (hidden,))
    if arch == "gemma3":
        f32(b + "post_attention_norm.weight", (hidden,))
        f32(b + "post_ffw_norm.weight", (hidden,))
    if arch != "llama":
        f32(b + "attn_q_norm.weight", (head_dim,))
        f32(b + "attn_k_norm.weight", (head_dim,))
    quantised(b + "attn_q.weight", heads * head_dim, hidden)
    quantised(b + "attn_k.weight", kv_heads * head_dim, hidden)
    quantised(b + "attn_v.weight", kv_heads * head_dim, hidden)
    quantised(b + "attn_output.weight", hidden, heads * head_dim)
    quantised(b + "ffn_gate.weight", ffn, hidden)
    quantised(b + "ffn_up.weight", ffn, hidden)
    quantised(b + "ffn_down.weight", hidden, ffn)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def all_types(path: Path) -> None:
    """One 256-element row of every type Strata reads, under a runnable architecture's rules."""
    w = gguf.GGUFWriter(path, "qwen3")
    for name in ["F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"]:
        data = row_of(name, 256)
        w.add_tensor(f"quant.{name}", data, raw_shape=[1, data.size], raw_dtype=T[name])
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main() -> None:
    out = HERE / "corpus"
    out.mkdir(exist_ok=True)
    for old in out.glob("*.gguf"):
        old.unlink()
    # Models have 32-element rows, too short for the 256-element K-quant blocks: those are read
    # in all_types.gguf, as tensors without a model role.
    model(out / "llama_q4_0.gguf", "llama", "Q4_0")
    model(out / "qwen3_q8_0.gguf", "qwen3", "Q8_0")
    model(out / "gemma3_q5_1.gguf", "gemma3", "Q5_1")
    all_types(out / "all_types.gguf")
    rng = random.Random(7)
    for base in ["llama_q4_0", "gemma3_q5_1"]:
        data = (out / f"{base}.gguf").read_bytes()
        (out / f"{base}.cut_header.gguf").write_bytes(data[:40])
        (out / f"{base}.cut_half.gguf").write_bytes(data[: len(data) // 2])
        flipped = bytearray(data)
        for _ in range(8):
            at = rng.randrange(len(flipped))
            flipped[at] ^= 1 << rng.randrange(8)
        (out / f"{base}.flipped.gguf").write_bytes(bytes(flipped))
    (out / "empty.gguf").write_bytes(b"")
    (out / "magic_only.gguf").write_bytes(b"GGUF")
    for f in sorted(out.glob("*.gguf")):
        print(f"{f.stat().st_size:8d}  {f.name}")


if __name__ == "__main__":
    main()
