#!/usr/bin/env python3
"""Regenerates the tiny GGUF model fixtures in tests/data/gguf/models/.

Each fixture is a GGUF file laid out the way llama.cpp's convert_hf_to_gguf.py lays out the same
checkpoint (tensor names, Q/K row permutation for Llama, w+1 norms for Gemma 3, llama3 rope
scaling as a rope_freqs tensor, GPT-2 style vocabulary), next to reference outputs computed by
transformers in float32 from exactly the weights the GGUF holds:

  model.gguf      the checkpoint
  reference.json  input ids, greedy continuation, versions (same format as tests/data/models)
  logits.f32      raw little-endian float32 [48, vocab] logits of one no-cache forward pass

Fixtures:
  llama     tests/data/models/llama_tied as GGUF "llama" (BF16 matrices, permuted Q/K, rope_freqs)
  llama_q8  the same with every 2-D matrix except token_embd in Q8_0; reference on the
            dequantised weights
  llama_bias  tests/data/models/llama_bias as GGUF "llama": F32 biases on every projection, the
            q and k biases permuted like their matrices
  qwen3     tests/data/models/qwen3 as GGUF "qwen3" (F16 matrices, no permutation)
  qwen2     tests/data/models/qwen2 as GGUF "qwen2" (BF16 matrices, F32 q/k/v biases)
  qwen2_yarn tests/data/models/qwen2_yarn as GGUF "qwen2" with rope.scaling.type "yarn"
  gemma3    a new tiny Gemma3ForCausalLM generated here, restricted to what GGUF gemma3 can say
            (query_pre_attn_scalar = head_dim, 5:1 sliding pattern, local rope base 1e4, no softcaps)

Before writing a fixture the script reads the GGUF back, undoes every convention (dequantise,
un-permute, subtract 1, reverse dims) and checks the result against the Hugging Face tensors, and
tries transformers' own GGUF loader on it; the figures are printed.

Usage: python3 tests/tools/make_gguf_model_fixtures.py [--only NAME ...] [--out DIR]
Deterministic (fixed seeds, one thread); needs tests/data/models (make_model_fixtures.py) and
runs on the CPU in well under a minute.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import types
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")  # transformers' GGUF loader draws progress bars

import gguf
import numpy as np
import torch
import transformers
from safetensors import safe_open

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_model_fixtures as mmf  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
HF_FIXTURES = REPO / "tests" / "data" / "models"
DEFAULT_OUT = REPO / "tests" / "data" / "gguf" / "models"

F32, F16, BF16, Q8_0 = (gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F16,
                        gguf.GGMLQuantizationType.BF16, gguf.GGMLQuantizationType.Q8_0)


@dataclass
class Spec:
    name: str
    arch: gguf.MODEL_ARCH
    tokenizer_pre: str
    add_bos: bool
    # Matrices other than the token embedding; None keeps the checkpoint's stored dtype.
    matrix_qtype: gguf.GGMLQuantizationType | None = None
    source: str | None = None  # folder under tests/data/models; None: generated here


SPECS = [
    Spec("llama", gguf.MODEL_ARCH.LLAMA, "llama-bpe", True, source="llama_tied"),
    Spec("llama_q8", gguf.MODEL_ARCH.LLAMA, "llama-bpe", True, matrix_qtype=Q8_0, source="llama_tied"),
    Spec("llama_bias", gguf.MODEL_ARCH.LLAMA, "llama-bpe", True, source="llama_bias"),
    Spec("qwen3", gguf.MODEL_ARCH.QWEN3, "qwen2", False, source="qwen3"),
    Spec("qwen2", gguf.MODEL_ARCH.QWEN2, "qwen2", False, source="qwen2"),
    Spec("qwen2_yarn", gguf.MODEL_ARCH.QWEN2, "qwen2", False, source="qwen2_yarn"),
    Spec("gemma3", gguf.MODEL_ARCH.GEMMA3, "llama-bpe", True),
]


# ---------------------------------------------------------------------------------------------
# The generated Gemma 3: only settings that GGUF gemma3 (as llama.cpp reads it) can express.

def gemma3_fixture() -> mmf.Fixture:
    return mmf.Fixture(
        name="gemma3_gguf",
        model_cls=transformers.Gemma3ForCausalLM,
        config=transformers.Gemma3TextConfig(
            hidden_size=64, num_hidden_layers=7, num_attention_heads=4, num_key_value_heads=1, head_dim=32,
            # llama.cpp scales queries by head_dim^-0.5 for every Gemma 3 size but 27B.
            query_pre_attn_scalar=32, intermediate_size=128, rms_norm_eps=1e-6, sliding_window=8,
            rope_theta=1e6, rope_local_base_freq=10000.0, rope_scaling={"rope_type": "linear", "factor": 8.0},
            attn_logit_softcapping=None, final_logit_softcapping=None,
            max_position_embeddings=256, tie_word_embeddings=True, **mmf.common_ids(),
        ),
        storage=torch.bfloat16, seed=1022, embed_std=0.12, proj_std=0.12, norm="offset",
        final_norm_gain=2.5,
    )


def save_generated_gemma3(folder: Path) -> mmf.Fixture:
    fx = gemma3_fixture()
    model = mmf.randomised_model(fx).to(fx.storage)
    model.save_pretrained(str(folder))
    cfg = model.config
    # What llama.cpp hard-codes for gemma3 must hold for this model, or the GGUF would lie.
    assert cfg.query_pre_attn_scalar == cfg.head_dim
    assert all((t == "full_attention") == ((i + 1) % 6 == 0) for i, t in enumerate(cfg.layer_types))
    assert cfg.rope_parameters["sliding_attention"]["rope_theta"] == 10000.0
    assert cfg.rope_parameters["sliding_attention"]["rope_type"] == "default"
    return fx


# ---------------------------------------------------------------------------------------------
# Checkpoint -> GGUF, the llama.cpp way.

def read_checkpoint(folder: Path) -> list[tuple[str, torch.Tensor]]:
    """Tensors in file order, in their stored dtype."""
    out = []
    with safe_open(str(folder / "model.safetensors"), framework="pt") as f:
        for key in f.keys():
            out.append((key, f.get_tensor(key)))
    return out


def llama_permute(w: np.ndarray, n_head: int) -> np.ndarray:
    """HF rotate-half row order -> llama.cpp's interleaved-pair row order, per head."""
    rows = w.shape[0]
    return w.reshape(n_head, 2, rows // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def llama_unpermute(w: np.ndarray, n_head: int) -> np.ndarray:
    rows = w.shape[0]
    return w.reshape(n_head, rows // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def llama3_rope_divisors(config: dict) -> np.ndarray:
    """rope_freqs.weight as convert_hf_to_gguf computes it: one divisor of each rotary frequency,
    in float32 torch arithmetic, element by element."""
    rope = config["rope_parameters"]
    base = rope["rope_theta"]
    dim = config.get("head_dim") or config["hidden_size"] // config["num_attention_heads"]
    factor = rope.get("factor", 8.0)
    low = rope.get("low_freq_factor", 1.0)
    high = rope.get("high_freq_factor", 4.0)
    old_ctx = rope.get("original_max_position_embeddings", 8192)
    freqs = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))
    low_wavelen, high_wavelen = old_ctx / low, old_ctx / high
    divisors = []
    for freq in freqs:
        wavelen = 2 * math.pi / freq
        if wavelen < high_wavelen:
            divisors.append(1.0)
        elif wavelen > low_wavelen:
            divisors.append(float(factor))
        else:
            smooth = (old_ctx / wavelen - low) / (high - low)
            divisors.append(float(1 / ((1 - smooth) / factor + smooth)))
    return np.asarray(divisors, dtype=np.float32)


def gguf_tensors(spec: Spec, config: dict, tensors: list[tuple[str, torch.Tensor]]):
    """(gguf name, float32 array in GGUF row order, GGUF type) in the order convert writes them."""
    name_map = gguf.get_tensor_name_map(spec.arch, config["num_hidden_layers"])
    stored = {torch.bfloat16: BF16, torch.float16: F16, torch.float32: F32}
    out = []
    if spec.arch == gguf.MODEL_ARCH.LLAMA and config["rope_parameters"].get("rope_type") == "llama3":
        out.append((gguf.TENSOR_NAMES[gguf.MODEL_TENSOR.ROPE_FREQS] + ".weight", llama3_rope_divisors(config), F32))
    for hf_name, t in tensors:
        name = name_map.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if name is None:
            raise SystemExit(f"{spec.name}: no GGUF name for {hf_name}")
        w = t.float().numpy()
        if spec.arch == gguf.MODEL_ARCH.LLAMA and hf_name.endswith(("q_proj.weight", "q_proj.bias")):
            w = llama_permute(w, config["num_attention_heads"])
        elif spec.arch == gguf.MODEL_ARCH.LLAMA and hf_name.endswith(("k_proj.weight", "k_proj.bias")):
            w = llama_permute(w, config["num_key_value_heads"])
        if spec.arch == gguf.MODEL_ARCH.GEMMA3 and hf_name.endswith("norm.weight"):
            w = w + np.float32(1)  # in float32, as convert does after widening bf16
        if w.ndim == 1:
            qtype = F32
        elif spec.matrix_qtype is not None and name != "token_embd.weight":
            qtype = spec.matrix_qtype
        else:
            qtype = stored[t.dtype]
        out.append((name, w, qtype))
    return out


def file_type_of(tensors) -> gguf.LlamaFileType:
    kinds = {q for _, w, q in tensors if w.ndim == 2}
    for q, ft in ((Q8_0, gguf.LlamaFileType.MOSTLY_Q8_0), (BF16, gguf.LlamaFileType.MOSTLY_BF16),
                  (F16, gguf.LlamaFileType.MOSTLY_F16)):
        if q in kinds:
            return ft
    return gguf.LlamaFileType.ALL_F32


def add_hparams(w: gguf.GGUFWriter, spec: Spec, c: dict) -> None:
    head_dim = c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"]
    w.add_context_length(c["max_position_embeddings"])
    w.add_embedding_length(c["hidden_size"])
    w.add_block_count(c["num_hidden_layers"])
    w.add_feed_forward_length(c["intermediate_size"])
    w.add_head_count(c["num_attention_heads"])
    w.add_head_count_kv(c["num_key_value_heads"])
    w.add_layer_norm_rms_eps(c["rms_norm_eps"])
    if spec.arch == gguf.MODEL_ARCH.GEMMA3:
        full = c["rope_parameters"]["full_attention"]
        w.add_rope_freq_base(full["rope_theta"])
        w.add_key_length(head_dim)
        w.add_value_length(head_dim)
        w.add_sliding_window(c["sliding_window"])
        if full.get("rope_type") == "linear":
            w.add_rope_scaling_type(gguf.RopeScalingType.LINEAR)
            w.add_rope_scaling_factor(full["factor"])
        return
    w.add_rope_freq_base(c["rope_parameters"]["rope_theta"])
    if c["rope_parameters"].get("rope_type") == "yarn":  # as convert_hf_to_gguf writes YaRN
        w.add_rope_scaling_type(gguf.RopeScalingType.YARN)
        w.add_rope_scaling_factor(c["rope_parameters"]["factor"])
        w.add_rope_scaling_orig_ctx_len(c["rope_parameters"]["original_max_position_embeddings"])
    if head_dim != c["hidden_size"] // c["num_attention_heads"]:
        w.add_key_length(head_dim)
        w.add_value_length(head_dim)
    if spec.arch == gguf.MODEL_ARCH.LLAMA:
        w.add_vocab_size(c["vocab_size"])
        w.add_rope_dimension_count(head_dim)


def add_vocab(w: gguf.GGUFWriter, spec: Spec, folder: Path, c: dict) -> None:
    tok = json.loads((folder / "tokenizer.json").read_text())
    by_id = {i: t for t, i in tok["model"]["vocab"].items()}
    added = {a["id"]: a for a in tok["added_tokens"]}
    for i, a in added.items():
        by_id[i] = a["content"]
    n = c["vocab_size"]
    assert sorted(by_id) == list(range(n)), "tokenizer ids must be dense and match vocab_size"
    tokens, ttypes = [], []
    for i in range(n):
        tokens.append(by_id[i])
        if i in added:
            ttypes.append(gguf.TokenType.CONTROL if added[i]["special"] else gguf.TokenType.USER_DEFINED)
        else:
            ttypes.append(gguf.TokenType.NORMAL)
    merges = [m if isinstance(m, str) else " ".join(m) for m in tok["model"]["merges"]]
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(spec.tokenizer_pre)
    w.add_token_list(tokens)
    w.add_token_types(ttypes)
    w.add_token_merges(merges)
    w.add_bos_token_id(c["bos_token_id"])
    w.add_eos_token_id(c["eos_token_id"])
    w.add_pad_token_id(c["pad_token_id"])
    w.add_add_bos_token(spec.add_bos)
    w.add_add_eos_token(False)


def write_gguf(path: Path, spec: Spec, folder: Path, c: dict, tensors) -> None:
    w = gguf.GGUFWriter(str(path), gguf.MODEL_ARCH_NAMES[spec.arch])
    w.add_type(gguf.GGUFType.MODEL)
    w.add_name(f"Strata tiny {spec.name}")
    add_hparams(w, spec, c)
    w.add_file_type(file_type_of(tensors))
    add_vocab(w, spec, folder, c)
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)
    for name, arr, qtype in tensors:
        if qtype == F32:
            w.add_tensor(name, arr.astype(np.float32))
        elif qtype == F16:
            w.add_tensor(name, arr.astype(np.float16))
        else:
            w.add_tensor(name, gguf.quants.quantize(arr, qtype), raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


# ---------------------------------------------------------------------------------------------
# GGUF -> HF, inverting every convention independently of the writer above.

def reconstruct_hf(path: Path, spec: Spec, c: dict) -> tuple[dict[str, torch.Tensor], np.ndarray | None, list]:
    reader = gguf.GGUFReader(str(path))
    name_map = gguf.get_tensor_name_map(spec.arch, c["num_hidden_layers"])
    inverse = {}
    for hf_name in hf_parameter_names(c, spec):
        inverse[name_map.get_name(hf_name, try_suffixes=(".weight", ".bias"))] = hf_name
    out, rope_freqs, listing = {}, None, []
    for t in reader.tensors:
        arr = gguf.quants.dequantize(np.asarray(t.data), t.tensor_type).reshape(tuple(reversed(t.shape.tolist())))
        listing.append((t.name, t.tensor_type.name, [int(x) for x in t.shape]))
        if t.name == "rope_freqs.weight":
            rope_freqs = arr
            continue
        hf_name = inverse[t.name]
        if spec.arch == gguf.MODEL_ARCH.LLAMA and t.name.endswith(("attn_q.weight", "attn_q.bias")):
            arr = llama_unpermute(arr, c["num_attention_heads"])
        elif spec.arch == gguf.MODEL_ARCH.LLAMA and t.name.endswith(("attn_k.weight", "attn_k.bias")):
            arr = llama_unpermute(arr, c["num_key_value_heads"])
        if spec.arch == gguf.MODEL_ARCH.GEMMA3 and t.name.endswith("norm.weight"):
            arr = arr - np.float32(1)
        out[hf_name] = torch.from_numpy(np.array(arr, dtype=np.float32))
    return out, rope_freqs, listing


def hf_parameter_names(c: dict, spec: Spec) -> list[str]:
    """Every HF parameter name of the architecture (tied: no lm_head)."""
    names = ["model.embed_tokens.weight", "model.norm.weight"]
    if not c.get("tie_word_embeddings", True):
        names.append("lm_head.weight")
    per_layer = ["input_layernorm", "post_attention_layernorm", "self_attn.q_proj", "self_attn.k_proj",
                 "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]
    if spec.arch in (gguf.MODEL_ARCH.QWEN3, gguf.MODEL_ARCH.GEMMA3):
        per_layer += ["self_attn.q_norm", "self_attn.k_norm"]
    if spec.arch == gguf.MODEL_ARCH.GEMMA3:
        per_layer += ["pre_feedforward_layernorm", "post_feedforward_layernorm"]
    biased = []
    if spec.arch == gguf.MODEL_ARCH.QWEN2 or c.get("attention_bias"):
        biased += ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"]
    if c.get("attention_bias"):
        biased.append("self_attn.o_proj")
    if c.get("mlp_bias"):
        biased += ["mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]
    for i in range(c["num_hidden_layers"]):
        names += [f"model.layers.{i}.{p}.weight" for p in per_layer]
        names += [f"model.layers.{i}.{p}.bias" for p in biased]
    return names


def read_metadata(path: Path) -> list[tuple[str, str, object]]:
    reader = gguf.GGUFReader(str(path))
    rows = []
    for key, field in reader.fields.items():
        if key.startswith("GGUF."):
            continue
        kind = "/".join(t.name for t in field.types)
        value = field.contents()
        if isinstance(value, list) and len(value) > 6:
            value = f"[{len(value)} items: {value[:4]} ...]"
        rows.append((key, kind, value))
    return rows


# ---------------------------------------------------------------------------------------------
# References.

def load_fp32(model_cls, folder: Path) -> torch.nn.Module:
    return mmf.load_reference(types.SimpleNamespace(model_cls=model_cls), folder, torch.float32)


def load_weights(model: torch.nn.Module, state: dict[str, torch.Tensor], complete: bool = False) -> None:
    """Replaces the named parameters (a tied lm_head follows the embedding); complete: state must
    cover every parameter."""
    result = model.load_state_dict(state, strict=False)
    if result.unexpected_keys or (complete and set(result.missing_keys) - {"lm_head.weight"}):
        raise SystemExit(f"weights do not fit the model: {result}")


def logits_with_weights(model: torch.nn.Module, state: dict[str, torch.Tensor], ids: list[int]) -> torch.Tensor:
    original = {k: v.clone() for k, v in model.state_dict().items()}
    load_weights(model, state)
    try:
        return mmf.forward_logits(model, ids)
    finally:
        model.load_state_dict(original)


def reference_of(model: torch.nn.Module, ids: list[int], dtype_label: str, extra: dict) -> tuple[torch.Tensor, dict]:
    logits = mmf.forward_logits(model, ids)
    prompt = ids[: mmf.PROMPT_LEN]
    new_ids = mmf.greedy_with_cache(model, prompt)
    if new_ids != mmf.greedy_without_cache(model, prompt):
        raise SystemExit("cached greedy differs from the no-cache argmax continuation")
    ref = {
        "input_ids": ids,
        "logits_file": "logits.f32",
        "logits_shape": list(logits.shape),
        "greedy": {"prompt_ids": prompt, "new_ids": new_ids},
        "dtype_of_weights": dtype_label,
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__.split("+")[0],
        **extra,
    }
    return logits, ref


def logit_stats(model: torch.nn.Module, logits: torch.Tensor, ref: dict) -> dict:
    top2 = logits.topk(2, dim=-1).values
    margins = top2[:, 0] - top2[:, 1]
    g = ref["greedy"]
    return {
        "max_abs_logit": float(logits.abs().max()),
        "logit_std": float(logits.std()),
        "mean_top1_margin": float(margins.mean()),
        "positions_margin_below_0.05": int((margins < 0.05).sum()),
        "distinct_greedy_tokens": len(set(g["new_ids"])),
        "min_greedy_margin": mmf.min_greedy_margin(model, g["prompt_ids"], g["new_ids"]),
    }


def try_transformers_gguf(folder: Path, ids: list[int], reference: torch.Tensor, hf_config) -> dict:
    """transformers' own GGUF loader, once with the config it derives from the GGUF and once with
    the true config; a refusal is recorded, not fatal."""
    out = {}
    try:
        derived = transformers.AutoConfig.from_pretrained(str(folder), gguf_file="model.gguf").to_dict()
        true = hf_config.to_dict()
        keys = ("head_dim", "query_pre_attn_scalar", "rope_parameters", "sliding_window", "layer_types",
                "final_logit_softcapping")
        out["config_differences"] = {k: (derived.get(k), true.get(k)) for k in keys if derived.get(k) != true.get(k)}
    except Exception as e:  # noqa: BLE001
        out["config_differences"] = f"refused: {type(e).__name__}: {e}"
    for label, kwargs in (("gguf_config", {}), ("true_config", {"config": hf_config})):
        try:
            model = transformers.AutoModelForCausalLM.from_pretrained(
                str(folder), gguf_file="model.gguf", dtype=torch.float32, attn_implementation="eager", **kwargs
            )
            diff = float((mmf.forward_logits(model.eval(), ids) - reference).abs().max())
            out[label] = f"max_abs_diff={diff:.3g}"
        except Exception as e:  # noqa: BLE001 - any refusal is the information wanted here
            out[label] = f"refused: {type(e).__name__}: {str(e).splitlines()[0][:160]}"
    return out


# ---------------------------------------------------------------------------------------------

def source_folder(spec: Spec, work: Path) -> tuple[Path, mmf.Fixture | None]:
    if spec.source is not None:
        return HF_FIXTURES / spec.source, None
    src = work / spec.name
    src.mkdir()
    fx = save_generated_gemma3(src)
    shutil.copy(HF_FIXTURES / "llama_tied" / "tokenizer.json", src / "tokenizer.json")
    fx.probes = [
        ("no_full_rope_scaling", lambda c: c.rope_parameters["full_attention"].update(rope_type="default")),
        ("local_rope_uses_global_theta", lambda c: c.rope_parameters["sliding_attention"].update(rope_theta=1e6)),
        ("no_sliding_window", lambda c: setattr(c, "sliding_window", 4096)),
    ]
    return src, fx


def check_reconstruction(spec: Spec, recon: dict, original: dict) -> dict:
    if set(recon) != set(original):
        raise SystemExit(f"{spec.name}: tensor sets differ: {set(recon) ^ set(original)}")
    bad_shapes = [k for k in original if recon[k].shape != original[k].shape]
    if bad_shapes:
        raise SystemExit(f"{spec.name}: reversed GGUF dims differ from the HF shapes for {bad_shapes}")
    diffs = {k: float((recon[k] - original[k]).abs().max()) for k in original}
    if spec.matrix_qtype is None and any(diffs.values()):
        raise SystemExit(f"{spec.name}: reconstruction is not exact: {diffs}")
    return {
        "tensors_bit_exact": f"{sum(1 for v in diffs.values() if v == 0.0)}/{len(diffs)}",
        "max_abs_reconstruction_error": max(diffs.values()),
    }


def check_llama_details(c: dict, model, rope_freqs: np.ndarray, original: dict, ids: list[int]) -> dict:
    theta = c["rope_parameters"]["rope_theta"]
    dim = c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"]
    plain = 1.0 / (theta ** (np.arange(0, dim, 2, dtype=np.float64) / dim))
    hf_inv = model.model.rotary_emb.inv_freq.double().numpy()
    still_permuted = {
        k: torch.from_numpy(llama_permute(
            original[k].numpy(), c["num_attention_heads"] if "q_proj" in k else c["num_key_value_heads"]))
        for k in original if k.endswith(("q_proj.weight", "k_proj.weight", "q_proj.bias", "k_proj.bias"))
    }
    stats = {
        # What a loader that forgets the permutation (or uses NeoX rope on GGUF rows) would see.
        "probe_qk_left_permuted": float(
            (logits_with_weights(model, still_permuted, ids) - mmf.forward_logits(model, ids)).abs().max()),
    }
    if rope_freqs is not None:
        stats["rope_freqs_rel_err_vs_hf_inv_freq"] = float(np.abs(plain / rope_freqs - hf_inv).max() / hf_inv.max())
        stats["rope_freqs"] = "[" + ", ".join(f"{x:.4g}" for x in rope_freqs) + "]"
    return stats


def build(spec: Spec, out_root: Path, work: Path) -> dict:
    src, fx = source_folder(spec, work)
    c = json.loads((src / "config.json").read_text())
    model_cls = fx.model_cls if fx else getattr(transformers, c["architectures"][0])
    hf_config = type(transformers.AutoConfig.for_model(c["model_type"])).from_pretrained(str(src))
    checkpoint = read_checkpoint(src)
    original = {k: v.float() for k, v in checkpoint}
    ids = json.loads((HF_FIXTURES / "llama_tied" / "reference.json").read_text())["input_ids"]
    tok = mmf.Tokenizer.from_file(str(src / "tokenizer.json"))
    assert mmf.input_ids_for(tok) == ids, "input ids must be the models/ fixtures' ids"

    folder = out_root / spec.name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    tensors = gguf_tensors(spec, c, checkpoint)
    write_gguf(folder / "model.gguf", spec, src, c, tensors)

    recon, rope_freqs, listing = reconstruct_hf(folder / "model.gguf", spec, c)
    stats = check_reconstruction(spec, recon, original)
    model = load_fp32(model_cls, src)
    if spec.arch == gguf.MODEL_ARCH.LLAMA:
        stats.update(check_llama_details(c, model, rope_freqs, original, ids))

    dtype_label = str(checkpoint[0][1].dtype).removeprefix("torch.")
    if spec.matrix_qtype is not None:
        # The reference runs on exactly what the GGUF holds: the dequantised matrices.
        load_weights(model, recon, complete=True)
        dtype_label = f"{spec.matrix_qtype.name.lower()} matrices, {dtype_label} token_embd"
    extra = {"source": f"models/{spec.source}" if spec.source else "generated by make_gguf_model_fixtures.py"}
    logits, ref = reference_of(model, ids, dtype_label, extra)
    fresh = load_fp32(model_cls, src)
    load_weights(fresh, recon, complete=True)
    stats["reference_from_reconstructed_weights_max_abs_diff"] = float(
        (mmf.forward_logits(fresh, ids) - logits).abs().max())
    if spec.source is not None:
        stored = torch.from_numpy(np.fromfile(src / "logits.f32", dtype="<f4").reshape(tuple(logits.shape)))
        label = "max_abs_logit_change_vs_bf16_weights" if spec.matrix_qtype else "max_abs_diff_vs_models_reference"
        stats[label] = float((stored - logits).abs().max())
        if spec.matrix_qtype is None and ref["greedy"] != json.loads((src / "reference.json").read_text())["greedy"]:
            raise SystemExit(f"{spec.name}: greedy differs from {src}/reference.json")
    if fx is not None:
        for label, mutate in fx.probes:
            stats["probe_" + label] = mmf.probe_change(fx, src, ids, logits, mutate)
        stats["probe_norms_plus_one_twice"] = float((logits_with_weights(model, {
            k: v + 1 for k, v in original.items() if k.endswith("norm.weight")}, ids) - logits).abs().max())
    stats.update(logit_stats(model, logits, ref))

    np.asarray(logits.numpy(), dtype="<f4").tofile(folder / "logits.f32")
    (folder / "reference.json").write_text(json.dumps(ref, indent=1) + "\n")
    stats.update({"transformers_" + k: v for k, v in try_transformers_gguf(folder, ids, logits, hf_config).items()})
    stats["_metadata"] = read_metadata(folder / "model.gguf")
    stats["_tensors"] = listing
    return stats


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--only", nargs="*", default=None, help="fixture names to rebuild")
    ap.add_argument("--listing", action="store_true", help="also print every metadata key and tensor")
    args = ap.parse_args()

    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for spec in SPECS:
            if args.only and spec.name not in args.only:
                continue
            stats = build(spec, args.out, Path(tmp))
            metadata, listing = stats.pop("_metadata"), stats.pop("_tensors")
            print(f"== {spec.name}")
            for k, v in stats.items():
                print(f"  {k}: {v:.4g}" if isinstance(v, float) else f"  {k}: {v}")
            if args.listing:
                for key, kind, value in metadata:
                    print(f"  kv {key} ({kind}) = {value}")
                for name, qtype, shape in listing:
                    print(f"  tensor {name} {qtype} {shape}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
