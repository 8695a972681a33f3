#!/usr/bin/env python3
"""Writes a random-weight Llama 3 or gpt-oss checkpoint of a real model's exact shape, for benchmarks.

    python3 tests/tools/make_random_checkpoint.py --shape llama-3.2-1b --out /tmp/llama-1b-random
    python3 tests/tools/make_random_checkpoint.py --shape llama-3.1-8b --out build/llama-8b --shard-gb 5
    python3 tests/tools/make_random_checkpoint.py --shape gpt-oss-20b --out /tmp/gpt-oss-20b-random

The folder looks like a Hugging Face download: config.json, bf16 *.safetensors shards with
model.safetensors.index.json (a single model.safetensors when it fits in one shard), and the real
Llama 3.1 tokenizer copied from <repo>/../shared/tokenizers/llama3_1. The weights are noise
(matrices ~ N(0, 0.02), norms ~ 1), so the output text is meaningless, but every byte the engine
streams, and every FLOP it spends, is the real model's.

gpt-oss-20b is openai/gpt-oss-20b as published on the Hub: 24 layers alternating sliding (window
128, even layers) and full attention, 64 q / 8 kv heads of 64, q/k/v/o biases and per-head sinks,
a router (weight + bias) over 32 experts, top 4, and the experts in MXFP4 exactly as that
checkpoint stores them: mlp.experts.gate_up_proj_blocks u8 [32, 5760, 90, 16] and
gate_up_proj_scales u8 [32, 5760, 90] (rows = 2 x 2880 interleaved gate/up outputs, 90 groups of 32
inputs), down_proj_blocks u8 [32, 2880, 90, 16] and down_proj_scales u8 [32, 2880, 90], bf16
gate_up_proj_bias [32, 5760] and down_proj_bias [32, 2880]; untied lm_head; 13.76 GB in three
shards named, like the real ones, model-00000-of-00002 .. model-00002-of-00002.safetensors.
Nibbles are uniform random bytes and scale bytes uniform in 118..124 (2^-9 .. 2^-3), so weights
stay below 0.75 in magnitude; every other tensor is bf16 noise as above (biases and sinks
~ N(0, 0.02)). config.json copies the real one (transformers 4 layout: rope_theta 150000 and
rope_scaling yarn, factor 32, original 4096, beta_fast 32, beta_slow 1, truncate false;
quantization_config mxfp4 with its modules_to_not_convert; no torch_dtype, as published) except
the token ids. The real o200k tokenizer is not available here, so the Llama 3.1 tokenizer is
copied instead (its ids, all < 128256, fit the 201088-row embedding) and bos / eos / pad are
Llama 3.1's 128000 / [128001, 128008, 128009] / 128004. gpt-oss-tiny is the same layout around a
toy body (real vocabulary), for quick end-to-end checks.

--tokenizer DIR copies the tokenizer from elsewhere (the GPU bundle keeps its own copy), and
--reuse leaves a folder alone when it already holds a complete checkpoint of the same shape and
seed (the marker strata-random.json is written last).

Needs numpy only (no torch): tensors are generated chunk by chunk on worker threads and streamed
to disk, so memory stays at a few hundred MB whatever the model size (normal noise is drawn from
a bf16 quantile table, see normal_table). Deterministic for a given
--seed, independent of the number of threads. Never commit the output.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist

import numpy as np

REPO = Path(__file__).resolve().parents[2]
TOKENIZER_DIR = REPO.parent / "shared" / "tokenizers" / "llama3_1"

CHUNK_ELEMS = 1 << 23  # 8 Mi values (32 MiB as f32) per generation task
MATRIX_STD = 0.02
NORM_STD = 0.02


@dataclass(frozen=True)
class Shape:
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    ffn: int  # gpt-oss: each expert's intermediate size
    vocab: int
    tied: bool
    rope_factor: float
    max_positions: int = 131072
    # > 0: a gpt-oss body (GptOssForCausalLM) with this many MXFP4 experts instead of Llama's MLP
    experts: int = 0
    experts_per_token: int = 0
    sliding_window: int = 0
    shard_gb: float = 2.0  # default --shard-gb
    # gpt-oss's published shards are numbered from 0: model-00000-of-00002 .. model-00002-of-00002
    zero_based_shard_names: bool = False


SHAPES = {
    "llama-3.2-1b": Shape(2048, 16, 32, 8, 64, 8192, 128256, tied=True, rope_factor=32.0),
    "llama-3.1-8b": Shape(4096, 32, 32, 8, 128, 14336, 128256, tied=False, rope_factor=8.0),
    # Real vocabulary (so the real tokenizer fits) around a toy body: quick end-to-end checks.
    "tiny": Shape(64, 2, 4, 2, 16, 256, 128256, tied=True, rope_factor=32.0),
    # 4.5 GiB shards give three like the published ones (about 4.8, 4.8 and 4.2 GB; here 4.83, 4.77 and 4.16).
    "gpt-oss-20b": Shape(2880, 24, 64, 8, 64, 2880, 201088, tied=False, rope_factor=32.0, experts=32,
                         experts_per_token=4, sliding_window=128, shard_gb=4.5, zero_based_shard_names=True),
    "gpt-oss-tiny": Shape(64, 2, 4, 2, 16, 64, 201088, tied=False, rope_factor=32.0, experts=8,
                          experts_per_token=4, sliding_window=128, zero_based_shard_names=True),
}

# How each kind of tensor is stored and drawn (see make_chunk).
DTYPE_OF_KIND = {"matrix": "BF16", "norm": "BF16", "mxfp4_blocks": "U8", "mxfp4_scales": "U8"}
BYTES_OF_DTYPE = {"BF16": 2, "U8": 1}
MXFP4_SCALE_BYTES = (118, 124)  # inclusive: 2^-9 .. 2^-3


def nbytes(shape: tuple[int, ...], kind: str) -> int:
    return BYTES_OF_DTYPE[DTYPE_OF_KIND[kind]] * int(np.prod(shape))


def tensor_plan(s: Shape) -> list[tuple[str, tuple[int, ...], str]]:
    """Tensor names, shapes and kinds; Llama's in the order transformers writes them."""
    if s.experts:
        return gpt_oss_tensor_plan(s)
    q, kv = s.heads * s.head_dim, s.kv_heads * s.head_dim
    plan = [("model.embed_tokens.weight", (s.vocab, s.hidden))]
    for i in range(s.layers):
        p = f"model.layers.{i}."
        plan += [
            (p + "input_layernorm.weight", (s.hidden,)),
            (p + "self_attn.q_proj.weight", (q, s.hidden)),
            (p + "self_attn.k_proj.weight", (kv, s.hidden)),
            (p + "self_attn.v_proj.weight", (kv, s.hidden)),
            (p + "self_attn.o_proj.weight", (s.hidden, q)),
            (p + "post_attention_layernorm.weight", (s.hidden,)),
            (p + "mlp.gate_proj.weight", (s.ffn, s.hidden)),
            (p + "mlp.up_proj.weight", (s.ffn, s.hidden)),
            (p + "mlp.down_proj.weight", (s.hidden, s.ffn)),
        ]
    plan.append(("model.norm.weight", (s.hidden,)))
    if not s.tied:
        plan.append(("lm_head.weight", (s.vocab, s.hidden)))
    return [(name, shape, "norm" if len(shape) == 1 else "matrix") for name, shape in plan]


def gpt_oss_tensor_plan(s: Shape) -> list[tuple[str, tuple[int, ...], str]]:
    """The tensors of openai/gpt-oss-20b's Hugging Face checkpoint (MXFP4 experts)."""
    q, kv, e, groups = s.heads * s.head_dim, s.kv_heads * s.head_dim, s.experts, s.hidden // 32
    assert s.hidden % 32 == 0 and s.ffn % 32 == 0, "MXFP4 groups are 32 inputs"
    plan = [("model.embed_tokens.weight", (s.vocab, s.hidden), "matrix")]
    for i in range(s.layers):
        p = f"model.layers.{i}."
        plan += [
            (p + "input_layernorm.weight", (s.hidden,), "norm"),
            (p + "self_attn.q_proj.weight", (q, s.hidden), "matrix"),
            (p + "self_attn.q_proj.bias", (q,), "matrix"),
            (p + "self_attn.k_proj.weight", (kv, s.hidden), "matrix"),
            (p + "self_attn.k_proj.bias", (kv,), "matrix"),
            (p + "self_attn.v_proj.weight", (kv, s.hidden), "matrix"),
            (p + "self_attn.v_proj.bias", (kv,), "matrix"),
            (p + "self_attn.o_proj.weight", (s.hidden, q), "matrix"),
            (p + "self_attn.o_proj.bias", (s.hidden,), "matrix"),
            (p + "self_attn.sinks", (s.heads,), "matrix"),
            (p + "post_attention_layernorm.weight", (s.hidden,), "norm"),
            (p + "mlp.router.weight", (e, s.hidden), "matrix"),
            (p + "mlp.router.bias", (e,), "matrix"),
            # [experts, output rows, input groups of 32, 16 bytes of two nibbles]
            (p + "mlp.experts.gate_up_proj_blocks", (e, 2 * s.ffn, groups, 16), "mxfp4_blocks"),
            (p + "mlp.experts.gate_up_proj_scales", (e, 2 * s.ffn, groups), "mxfp4_scales"),
            (p + "mlp.experts.gate_up_proj_bias", (e, 2 * s.ffn), "matrix"),
            (p + "mlp.experts.down_proj_blocks", (e, s.hidden, s.ffn // 32, 16), "mxfp4_blocks"),
            (p + "mlp.experts.down_proj_scales", (e, s.hidden, s.ffn // 32), "mxfp4_scales"),
            (p + "mlp.experts.down_proj_bias", (e, s.hidden), "matrix"),
        ]
    plan.append(("model.norm.weight", (s.hidden,), "norm"))
    plan.append(("lm_head.weight", (s.vocab, s.hidden), "matrix"))
    return plan


def config_json(s: Shape, v5_layout: bool) -> dict:
    if s.experts:
        return gpt_oss_config_json(s, v5_layout)
    rope_scaling = {
        "factor": s.rope_factor,
        "high_freq_factor": 4.0,
        "low_freq_factor": 1.0,
        "original_max_position_embeddings": 8192,
        "rope_type": "llama3",
    }
    cfg = {
        "architectures": ["LlamaForCausalLM"],
        "attention_bias": False,
        "attention_dropout": 0.0,
        "bos_token_id": 128000,
        "eos_token_id": [128001, 128008, 128009],
        "head_dim": s.head_dim,
        "hidden_act": "silu",
        "hidden_size": s.hidden,
        "initializer_range": 0.02,
        "intermediate_size": s.ffn,
        "max_position_embeddings": s.max_positions,
        "mlp_bias": False,
        "model_type": "llama",
        "num_attention_heads": s.heads,
        "num_hidden_layers": s.layers,
        "num_key_value_heads": s.kv_heads,
        "pretraining_tp": 1,
        "rms_norm_eps": 1e-05,
        "tie_word_embeddings": s.tied,
        "use_cache": True,
        "vocab_size": s.vocab,
    }
    # Published Llama 3 checkpoints use the transformers 4 keys; transformers 5 writes the others.
    if v5_layout:
        cfg["rope_parameters"] = dict(rope_scaling, rope_theta=500000.0)
        cfg["dtype"] = "bfloat16"
    else:
        cfg["rope_scaling"] = rope_scaling
        cfg["rope_theta"] = 500000.0
        cfg["torch_dtype"] = "bfloat16"
    return dict(sorted(cfg.items()))


def gpt_oss_config_json(s: Shape, v5_layout: bool) -> dict:
    """openai/gpt-oss-20b's config.json, token ids aside (see the module docstring)."""
    rope_scaling = {
        "beta_fast": 32.0,
        "beta_slow": 1.0,
        "factor": s.rope_factor,
        "original_max_position_embeddings": 4096,
        "rope_type": "yarn",
        "truncate": False,
    }
    cfg = {
        "architectures": ["GptOssForCausalLM"],
        "attention_bias": True,
        "attention_dropout": 0.0,
        "bos_token_id": 128000,
        "eos_token_id": [128001, 128008, 128009],
        "experts_per_token": s.experts_per_token,
        "head_dim": s.head_dim,
        "hidden_act": "silu",
        "hidden_size": s.hidden,
        "initial_context_length": 4096,
        "initializer_range": 0.02,
        "intermediate_size": s.ffn,
        "layer_types": ["sliding_attention" if i % 2 == 0 else "full_attention" for i in range(s.layers)],
        "max_position_embeddings": s.max_positions,
        "model_type": "gpt_oss",
        "num_attention_heads": s.heads,
        "num_experts_per_tok": s.experts_per_token,
        "num_hidden_layers": s.layers,
        "num_key_value_heads": s.kv_heads,
        "num_local_experts": s.experts,
        "output_router_logits": False,
        "pad_token_id": 128004,
        "quantization_config": {
            "modules_to_not_convert": [
                "model.layers.*.self_attn",
                "model.layers.*.mlp.router",
                "model.embed_tokens",
                "lm_head",
            ],
            "quant_method": "mxfp4",
        },
        "rms_norm_eps": 1e-05,
        "router_aux_loss_coef": 0.9,
        "sliding_window": s.sliding_window,
        "swiglu_limit": 7.0,
        "tie_word_embeddings": s.tied,
        "use_cache": True,
        "vocab_size": s.vocab,
    }
    if v5_layout:
        cfg["rope_parameters"] = dict(rope_scaling, rope_theta=150000.0)
        cfg["dtype"] = "bfloat16"
    else:  # as published: rope_theta an integer, no torch_dtype
        cfg["rope_scaling"] = rope_scaling
        cfg["rope_theta"] = 150000
    return dict(sorted(cfg.items()))


def split_into_shards(plan, shard_bytes: int) -> list[list[tuple[str, tuple[int, ...], str]]]:
    shards, current, size = [], [], 0
    for name, shape, kind in plan:
        n = nbytes(shape, kind)
        if current and size + n > shard_bytes:
            shards.append(current)
            current, size = [], 0
        current.append((name, shape, kind))
        size += n
    shards.append(current)
    return shards


def safetensors_header(tensors: list[tuple[str, tuple[int, ...], str]]) -> bytes:
    entries, offset = {}, 0
    for name, shape, kind in tensors:
        end = offset + nbytes(shape, kind)
        entries[name] = {"dtype": DTYPE_OF_KIND[kind], "shape": list(shape), "data_offsets": [offset, end]}
        offset = end
    entries["__metadata__"] = {"format": "pt"}
    header = json.dumps(entries, separators=(",", ":")).encode()
    header += b" " * (-len(header) % 8)  # keeps the data section 8-byte aligned
    return len(header).to_bytes(8, "little") + header


def to_bf16_bits(values: np.ndarray) -> np.ndarray:
    bits = values.astype(np.float32).view(np.uint32)
    rounded = bits + 0x7FFF + ((bits >> 16) & 1)  # round to nearest even
    return (rounded >> 16).astype(np.uint16)


def normal_table(mean: float, std: float) -> np.ndarray:
    """bf16 bit patterns of the 65536 equal-probability quantiles of N(mean, std).

    Indexing it with uniform random u16 values draws normal bf16 noise (tails cut at 4.3 sigma)
    about four times faster than generating floats and converting them.
    """
    quantile = NormalDist(mean, std).inv_cdf
    return to_bf16_bits(np.array([quantile((i + 0.5) / 65536) for i in range(65536)]))


MATRIX_TABLE = normal_table(0.0, MATRIX_STD)
NORM_TABLE = normal_table(1.0, NORM_STD)


def make_chunk(seed: int, tensor_index: int, chunk_index: int, count: int, kind: str) -> bytes:
    rng = np.random.default_rng([seed, tensor_index, chunk_index])
    if kind == "mxfp4_blocks":  # two uniform random nibbles a byte
        return rng.integers(0, 256, count, dtype=np.uint8).tobytes()
    if kind == "mxfp4_scales":
        return rng.integers(MXFP4_SCALE_BYTES[0], MXFP4_SCALE_BYTES[1] + 1, count, dtype=np.uint8).tobytes()
    draws = rng.integers(0, 65536, count, dtype=np.uint16)
    return (NORM_TABLE if kind == "norm" else MATRIX_TABLE)[draws].tobytes()


def write_shard(path: Path, tensors, first_index: int, seed: int, pool: ThreadPoolExecutor, max_in_flight: int) -> None:
    in_flight: deque = deque()
    with open(path, "wb") as f:
        f.write(safetensors_header(tensors))
        for t, (_, shape, kind) in enumerate(tensors, start=first_index):
            total = int(np.prod(shape))
            for c, start in enumerate(range(0, total, CHUNK_ELEMS)):
                count = min(CHUNK_ELEMS, total - start)
                in_flight.append(pool.submit(make_chunk, seed, t, c, count, kind))
                while len(in_flight) >= max_in_flight:
                    f.write(in_flight.popleft().result())
        while in_flight:
            f.write(in_flight.popleft().result())


MARKER = "strata-random.json"


def marker_for(shape_name: str, seed: int, shard_gb: float, v5_layout: bool) -> dict:
    return {"shape": shape_name, "seed": seed, "shard_gb": shard_gb, "v5_config": v5_layout}


def complete_checkpoint(out: Path, marker: dict) -> bool:
    try:
        return json.loads((out / MARKER).read_text()) == marker
    except (OSError, ValueError):
        return False


def write_checkpoint(shape: Shape, out: Path, seed: int, shard_gb: float, v5_layout: bool, threads: int,
                     tokenizer_dir: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    # Shards of an earlier run with another shard count would otherwise linger beside the new ones,
    # and the marker of an earlier complete run must not vouch for a half-written one.
    for stale in [*out.glob("model*.safetensors*"), out / MARKER]:
        stale.unlink(missing_ok=True)
    plan = tensor_plan(shape)
    shards = split_into_shards(plan, int(shard_gb * (1 << 30)))
    if len(shards) == 1:
        names = ["model.safetensors"]
    elif shape.zero_based_shard_names:
        names = [f"model-{i:05d}-of-{len(shards) - 1:05d}.safetensors" for i in range(len(shards))]
    else:
        names = [f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors" for i in range(len(shards))]
    total_bytes, first, weight_map = 0, 0, {}
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for name, tensors in zip(names, shards):
            write_shard(out / name, tensors, first, seed, pool, max_in_flight=2 * threads + 1)
            first += len(tensors)
            for t, _, _ in tensors:
                weight_map[t] = name
            total_bytes += sum(nbytes(s, k) for _, s, k in tensors)
    if len(shards) > 1:
        index = {
            "metadata": {"total_size": total_bytes},
            "weight_map": dict(sorted(weight_map.items())),
        }
        (out / "model.safetensors.index.json").write_text(json.dumps(index, indent=2) + "\n")
    (out / "config.json").write_text(json.dumps(config_json(shape, v5_layout), indent=2) + "\n")
    copy_tokenizer(tokenizer_dir, out)
    return total_bytes


def copy_tokenizer(tokenizer_dir: Path, out: Path) -> None:
    files = ["tokenizer.json", "tokenizer_config.json"]
    if not all((tokenizer_dir / f).is_file() for f in files):
        print(f"warning: {tokenizer_dir} has no Llama 3.1 tokenizer; the checkpoint has none", file=sys.stderr)
        return
    for f in files:
        shutil.copyfile(tokenizer_dir / f, out / f)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", required=True, choices=sorted(SHAPES))
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shard-gb", type=float, default=None,
                    help="largest shard size in GiB (default 2; gpt-oss-20b: 4.5, which gives the real three shards)")
    ap.add_argument("--v5-config", action="store_true",
                    help="write config.json as transformers 5 does (rope_parameters, dtype)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--tokenizer", type=Path, default=TOKENIZER_DIR,
                    help="folder with the Llama 3.1 tokenizer.json and tokenizer_config.json to copy "
                         "(default ../shared/tokenizers/llama3_1 beside the repository)")
    ap.add_argument("--reuse", action="store_true",
                    help="keep --out as it is when it already holds a complete checkpoint of this shape and seed")
    args = ap.parse_args()
    if args.shard_gb is None:
        args.shard_gb = SHAPES[args.shape].shard_gb
    if args.shard_gb <= 0:
        ap.error("--shard-gb must be positive")

    marker = marker_for(args.shape, args.seed, args.shard_gb, args.v5_config)
    if args.reuse and complete_checkpoint(args.out, marker):
        print(f"{args.shape}: {args.out} already holds this checkpoint (--reuse)")
        return 0
    start = time.monotonic()
    total = write_checkpoint(SHAPES[args.shape], args.out, args.seed, args.shard_gb, args.v5_config, args.threads,
                             args.tokenizer)
    (args.out / MARKER).write_text(json.dumps(marker) + "\n")
    took = time.monotonic() - start
    kind = "bf16 + MXFP4" if SHAPES[args.shape].experts else "bf16"
    print(f"{args.shape}: {total / 1e9:.3f} GB of {kind} weights in {args.out} "
          f"({took:.1f} s, {total / 1e9 / max(took, 1e-9):.2f} GB/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
