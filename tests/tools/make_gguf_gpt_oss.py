#!/usr/bin/env python3
"""Writes a Hugging Face gpt-oss checkpoint folder as a GGUF file laid out the way llama.cpp's
convert_hf_to_gguf.py (GptOssModel) lays it out, and the reference outputs beside it.

By default it turns tests/data/models/gpt_oss_mxfp4 into tests/data/gguf/models/gpt_oss:

  model.gguf      the checkpoint, GGUF architecture "gpt-oss"
  reference.json  input ids, greedy continuation, versions (the format of tests/data/models)
  logits.f32      raw little-endian float32 [48, vocab] logits of one no-cache forward pass

What the conversion does (llama.cpp's conventions, written here from their description, not copied):
  - MXFP4 experts stay MXFP4 (ggml type 39): each group of 32 values becomes one 17-byte block, the
    E8M0 scale byte first, then 16 bytes in which byte j holds element j in its low nibble and
    element j + 16 in its high one (Hugging Face: byte j holds elements 2j and 2j + 1). The scale
    byte is the same number: GGUF's value is 2 * FP4[n] * 2^(s - 128) = FP4[n] * 2^(s - 127).
  - gate_up_proj (rows interleaved, row 2j gate j and 2j + 1 up j) is split into ffn_gate_exps
    (the even rows) and ffn_up_exps (the odd rows); down_proj becomes ffn_down_exps. GGUF dims are
    [in, out, experts], fastest first.
  - gate_up_proj_bias is split the same way into ffn_gate_exps.bias and ffn_up_exps.bias;
    down_proj_bias is ffn_down_exps.bias; the router is ffn_gate_inp; sinks are attn_sinks.weight;
    post_attention_layernorm (the norm in front of the experts) is post_attention_norm.
  - Types: the MXFP4 tensors first (convert repacks them before the other tensors), then the
    checkpoint's tensors in safetensors order; 1-D tensors, biases and the router in F32, the other
    matrices in their stored BF16.
  - Metadata as TextModel.set_gguf_parameters and GptOssModel write it: sizes, head_dim as
    key/value length, expert_count, expert_used_count, expert_feed_forward_length,
    attention.sliding_window, YaRN as rope.scaling.* (type, factor, original context, betas);
    the vocabulary as _set_vocab_gpt2 writes it (see make_gguf_model_fixtures.add_vocab).

Before writing anything the script reads the file back with gguf-py, undoes the conventions
independently of the writer (dequantise, interleave gate and up again, transpose) and checks that
every tensor equals the checkpoint's, that the repacked bytes turn back into the checkpoint's
blocks and scales byte for byte, and that transformers computes bit-identical logits and the same
greedy continuation from the reconstructed weights as from the checkpoint. It also prints how far
the logits move when a detail is wrong.

The checkpoint must store its experts as MXFP4 (`*_blocks` / `*_scales`, as the released ones do):
that is the GGUF layout Strata reads.

Usage: python3 tests/tools/make_gguf_gpt_oss.py [--src FOLDER] [--out FOLDER] [--listing]
Deterministic; runs on the CPU in about half a minute, most of it loading transformers.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")

import gguf
import numpy as np
import torch
import transformers

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_gguf_model_fixtures as mgf  # noqa: E402
import make_model_fixtures as mmf  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DEFAULT_SRC = REPO / "tests" / "data" / "models" / "gpt_oss_mxfp4"
DEFAULT_OUT = REPO / "tests" / "data" / "gguf" / "models" / "gpt_oss"

ARCH = gguf.MODEL_ARCH.GPT_OSS
F32, BF16, MXFP4 = gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.BF16, gguf.GGMLQuantizationType.MXFP4
# llama.cpp's gpt-oss graph hard-codes these (build_moe_ffn, LLM_FFN_SWIGLU_OAI_MOE); the GGUF
# cannot say otherwise, so the checkpoint must agree.
SWIGLU_ALPHA, SWIGLU_LIMIT = 1.702, 7.0


# ---------------------------------------------------------------------------------------------
# Hugging Face MXFP4 <-> GGUF MXFP4

def hf_to_gguf_nibbles(blocks: np.ndarray) -> np.ndarray:
    """[..., 16] bytes, element 2k low / 2k + 1 high -> element j low / j + 16 high."""
    lo, hi = blocks & 0x0F, blocks >> 4
    elements = np.empty(blocks.shape[:-1] + (32,), dtype=np.uint8)
    elements[..., 0::2], elements[..., 1::2] = lo, hi
    return (elements[..., :16] | (elements[..., 16:] << 4)).astype(np.uint8)


def gguf_to_hf_nibbles(qs: np.ndarray) -> np.ndarray:
    """The inverse, written separately so that the check below is not the writer run backwards."""
    elements = np.concatenate([qs & 0x0F, qs >> 4], axis=-1)
    return (elements[..., 0::2] | (elements[..., 1::2] << 4)).astype(np.uint8)


def gguf_mxfp4(blocks: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """HF blocks [E, rows, groups, 16] and scales [E, rows, groups] -> GGUF bytes [E, rows, groups * 17]."""
    packed = np.concatenate([scales[..., None], hf_to_gguf_nibbles(blocks)], axis=-1)
    return np.ascontiguousarray(packed.reshape(blocks.shape[0], blocks.shape[1], -1))


# ---------------------------------------------------------------------------------------------
# Checkpoint -> GGUF

def gguf_tensors(c: dict, checkpoint: list[tuple[str, torch.Tensor]]) -> list[tuple[str, np.ndarray, object]]:
    """(GGUF name, data, type) in the order convert writes them. Data is float32 in GGUF row order
    for F32 / BF16 and the raw bytes [E, rows, groups * 17] for MXFP4."""
    names = gguf.get_tensor_name_map(ARCH, c["num_hidden_layers"])
    tensors = dict(checkpoint)

    def gguf_name(hf: str) -> str:
        name = names.get_name(hf, try_suffixes=(".weight", ".bias"))
        if name is None:
            raise SystemExit(f"no GGUF name for {hf}")
        return name

    out: list[tuple[str, np.ndarray, object]] = []
    # MXFP4 pairs, in the order their second tensor comes in the file (down before gate_up).
    pending: dict[str, set[str]] = {}
    for hf, _ in checkpoint:
        if not hf.endswith(("_blocks", "_scales")):
            continue
        stem, part = hf.rsplit("_", 1)
        pending.setdefault(stem, set()).add(part)
        if pending[stem] != {"blocks", "scales"}:
            continue
        blocks, scales = tensors[stem + "_blocks"].numpy(), tensors[stem + "_scales"].numpy()
        if stem.endswith("down_proj"):
            out.append((gguf_name(stem + ".weight"), gguf_mxfp4(blocks, scales), MXFP4))
        else:
            for proj, rows in (("gate_proj", slice(0, None, 2)), ("up_proj", slice(1, None, 2))):
                name = gguf_name(stem.replace("gate_up_proj", proj) + ".weight")
                out.append((name, gguf_mxfp4(blocks[:, rows], scales[:, rows]), MXFP4))
    for hf, t in checkpoint:
        if hf.endswith(("_blocks", "_scales")):
            continue
        if hf.endswith(("experts.gate_up_proj", "experts.down_proj")):
            raise SystemExit(f"{hf} is a {t.dtype} matrix; this script writes checkpoints whose experts are MXFP4")
        w = t.float().numpy()
        if hf.endswith("gate_up_proj_bias"):
            for proj, rows in (("gate_proj", slice(0, None, 2)), ("up_proj", slice(1, None, 2))):
                out.append((gguf_name(hf.replace("gate_up_proj_bias", proj + ".bias")),
                            np.ascontiguousarray(w[..., rows]), F32))
            continue
        if hf.endswith("down_proj_bias"):
            hf = hf.replace("down_proj_bias", "down_proj.bias")
        elif hf.endswith("sinks"):
            hf += ".weight"
        name = gguf_name(hf)
        # 1-D tensors, biases and the router are F32; other matrices keep their stored type.
        always_f32 = w.ndim <= 1 or not name.endswith(".weight") or ".ffn_gate_inp." in name
        if not always_f32 and t.dtype != torch.bfloat16:
            raise SystemExit(f"{hf} is {t.dtype}; this script writes BF16 matrices")
        out.append((name, w, F32 if always_f32 else BF16))
    return out


def add_hparams(w: gguf.GGUFWriter, c: dict) -> None:
    rope = c["rope_parameters"]
    if rope.get("rope_type") != "yarn":
        raise SystemExit("gpt-oss GGUF files carry YaRN rope scaling; this checkpoint has none")
    if c["swiglu_alpha"] != SWIGLU_ALPHA or c["swiglu_limit"] != SWIGLU_LIMIT:
        raise SystemExit("llama.cpp's gpt-oss fixes swiglu alpha 1.702 and limit 7; this checkpoint differs")
    want = ["sliding_attention" if i % 2 == 0 else "full_attention" for i in range(c["num_hidden_layers"])]
    if c["layer_types"] != want:
        raise SystemExit("llama.cpp's gpt-oss slides the even layers; this checkpoint's layer_types differ")
    w.add_block_count(c["num_hidden_layers"])
    w.add_context_length(c["max_position_embeddings"])
    w.add_embedding_length(c["hidden_size"])
    w.add_feed_forward_length(c["intermediate_size"])
    w.add_head_count(c["num_attention_heads"])
    w.add_head_count_kv(c["num_key_value_heads"])
    w.add_rope_scaling_type(gguf.RopeScalingType.YARN)
    w.add_rope_scaling_factor(rope["factor"])
    w.add_rope_scaling_orig_ctx_len(rope["original_max_position_embeddings"])
    w.add_rope_scaling_yarn_beta_fast(rope["beta_fast"])
    w.add_rope_scaling_yarn_beta_slow(rope["beta_slow"])
    w.add_rope_freq_base(rope["rope_theta"])
    w.add_layer_norm_rms_eps(c["rms_norm_eps"])
    w.add_expert_count(c["num_local_experts"])
    w.add_expert_used_count(c["num_experts_per_tok"])
    w.add_key_length(c["head_dim"])
    w.add_value_length(c["head_dim"])
    w.add_file_type(gguf.LlamaFileType.MOSTLY_BF16)
    w.add_sliding_window(c["sliding_window"])
    w.add_expert_feed_forward_length(c["intermediate_size"])


def write_gguf(path: Path, src: Path, c: dict, tensors) -> None:
    w = gguf.GGUFWriter(str(path), gguf.MODEL_ARCH_NAMES[ARCH])
    w.add_type(gguf.GGUFType.MODEL)
    w.add_name("Strata tiny gpt_oss")
    add_hparams(w, c)
    # The tiny vocabulary was trained with the Llama 3 split regex (tests/data/models/README.md), so
    # the file names that pre-tokenizer rather than gpt-oss's o200k one ("gpt-4o").
    spec = mgf.Spec("gpt_oss", ARCH, "llama-bpe", True)
    mgf.add_vocab(w, spec, src, c)
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)
    for name, data, qtype in tensors:
        if qtype == F32:
            w.add_tensor(name, data.astype(np.float32))
        elif qtype == BF16:
            w.add_tensor(name, gguf.quants.quantize(data, BF16), raw_dtype=BF16)
        else:  # bytes [E, rows, groups * 17]; gguf-py turns the byte shape into [E, rows, groups * 32]
            w.add_tensor(name, data, raw_dtype=MXFP4)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


# ---------------------------------------------------------------------------------------------
# GGUF -> Hugging Face, undoing every convention without the writer's helpers

def reconstruct(path: Path, c: dict, param_names: list[str]) -> tuple[dict[str, torch.Tensor], dict[str, np.ndarray], list]:
    """The checkpoint's tensors as transformers holds them after loading with dequantize=True
    (float32; experts [E, in, out] with gate and up interleaved along out), the Hugging Face blocks
    and scales recovered from the MXFP4 bytes, and a listing of the file."""
    reader = gguf.GGUFReader(str(path))
    names = gguf.get_tensor_name_map(ARCH, c["num_hidden_layers"])
    stored, listing = {}, []
    for t in reader.tensors:
        listing.append((t.name, t.tensor_type.name, [int(x) for x in t.shape]))
        stored[t.name] = t
    values: dict[str, torch.Tensor] = {}
    packed: dict[str, np.ndarray] = {}

    def floats(name: str) -> np.ndarray:
        t = stored.pop(name)
        data = gguf.quants.dequantize(np.asarray(t.data), t.tensor_type)
        return np.array(data, dtype=np.float32).reshape(tuple(reversed(t.shape.tolist())))

    def hf_bytes(name: str) -> tuple[np.ndarray, np.ndarray]:
        t = stored[name]
        assert t.tensor_type == MXFP4, (name, t.tensor_type)
        raw = np.asarray(t.data).reshape(int(t.shape[2]), int(t.shape[1]), -1, 17)
        return gguf_to_hf_nibbles(raw[..., 1:]), raw[..., 0].copy()

    for i in range(c["num_hidden_layers"]):
        b, hf = f"blk.{i}.", f"model.layers.{i}."
        x = hf + "mlp.experts."
        gate_b, gate_s = hf_bytes(b + "ffn_gate_exps.weight")
        up_b, up_s = hf_bytes(b + "ffn_up_exps.weight")
        packed[x + "gate_up_proj_blocks"] = np.stack([gate_b, up_b], axis=2).reshape(
            gate_b.shape[0], -1, *gate_b.shape[2:])
        packed[x + "gate_up_proj_scales"] = np.stack([gate_s, up_s], axis=2).reshape(gate_s.shape[0], -1, gate_s.shape[2])
        packed[x + "down_proj_blocks"], packed[x + "down_proj_scales"] = hf_bytes(b + "ffn_down_exps.weight")
        gate, up = floats(b + "ffn_gate_exps.weight"), floats(b + "ffn_up_exps.weight")  # [E, ffn, hidden]
        gate_up = np.stack([gate, up], axis=2).reshape(gate.shape[0], -1, gate.shape[2])   # rows interleaved
        values[x + "gate_up_proj"] = torch.from_numpy(np.ascontiguousarray(gate_up.transpose(0, 2, 1)))
        values[x + "down_proj"] = torch.from_numpy(np.ascontiguousarray(
            floats(b + "ffn_down_exps.weight").transpose(0, 2, 1)))
        gb, ub = floats(b + "ffn_gate_exps.bias"), floats(b + "ffn_up_exps.bias")
        values[x + "gate_up_proj_bias"] = torch.from_numpy(np.stack([gb, ub], axis=2).reshape(gb.shape[0], -1))
        values[x + "down_proj_bias"] = torch.from_numpy(floats(b + "ffn_down_exps.bias"))
        values[hf + "self_attn.sinks"] = torch.from_numpy(floats(b + "attn_sinks.weight"))
    # The rest one to one: the model's other parameters under their GGUF names.
    by_gguf = {}
    for hf in param_names:
        if ".mlp.experts." in hf or hf.endswith("self_attn.sinks"):
            continue
        by_gguf[names.get_name(hf, try_suffixes=(".weight", ".bias"))] = hf
    for name in list(stored):
        if name not in by_gguf:
            raise SystemExit(f"no Hugging Face name for {name}")
        values[by_gguf[name]] = torch.from_numpy(floats(name))
    return values, packed, listing


# ---------------------------------------------------------------------------------------------

def load_reference(src: Path) -> torch.nn.Module:
    fx = next(f for f in mmf.gpt_oss_fixtures() if f.name == "gpt_oss_mxfp4")
    return mmf.load_reference(fx, src, torch.float32)


def logits_with(model: torch.nn.Module, state: dict[str, torch.Tensor], ids: list[int]) -> torch.Tensor:
    original = {k: v.clone() for k, v in model.state_dict().items()}
    mgf.load_weights(model, state)
    try:
        return mmf.forward_logits(model, ids)
    finally:
        model.load_state_dict(original)


def probes(model: torch.nn.Module, src: Path, values: dict[str, torch.Tensor], ids: list[int],
           reference: torch.Tensor) -> dict[str, float]:
    """Max |logit change| when a reader gets one detail of this layout wrong."""
    out = {}

    def change(state: dict[str, torch.Tensor]) -> float:
        return float((logits_with(model, state, ids) - reference).abs().max())

    experts = [k for k in values if k.endswith("mlp.experts.gate_up_proj")]
    # gate and up taken as the first and second half of the rows instead of interleaved
    halves = {}
    for k in experts:
        v = values[k]
        ffn = v.shape[2] // 2
        halves[k] = torch.stack([v[..., :ffn], v[..., ffn:]], dim=3).reshape(v.shape)
        bias = values[k + "_bias"]
        halves[k + "_bias"] = torch.stack([bias[..., :ffn], bias[..., ffn:]], dim=2).reshape(bias.shape)
    out["gate_up_concatenated_not_interleaved"] = change(halves)
    # the nibbles left in GGUF order (element j low, j + 16 high) but read as Hugging Face's
    wrong = {}
    for k in experts + [k.replace("gate_up_proj", "down_proj") for k in experts]:
        v = values[k].transpose(1, 2)  # [E, out, in]
        g = v.reshape(v.shape[0], v.shape[1], -1, 32)
        mixed = torch.stack([g[..., :16], g[..., 16:]], dim=-1).reshape(g.shape)
        wrong[k] = mixed.reshape(v.shape).transpose(1, 2).contiguous()
    out["nibbles_in_gguf_order"] = change(wrong)
    # llama.cpp's YaRN rounds the ramp's ends (ggml_rope_yarn_corr_dims: floor and ceil); gpt-oss's
    # config says truncate false, which is what transformers and Strata compute.
    fx = next(f for f in mmf.gpt_oss_fixtures() if f.name == "gpt_oss_mxfp4")
    out["yarn_truncated_as_ggml"] = mmf.probe_change(
        fx, src, ids, reference, lambda cfg: cfg.rope_parameters.update(truncate=True))
    return out


def build(src: Path, out_dir: Path, listing_wanted: bool) -> dict:
    c = json.loads((src / "config.json").read_text())
    checkpoint = mgf.read_checkpoint(src)
    ref_json = json.loads((src / "reference.json").read_text())
    ids = ref_json["input_ids"]
    stored_logits = torch.from_numpy(np.fromfile(src / "logits.f32", dtype="<f4").reshape(ref_json["logits_shape"]))

    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / "model.gguf"
        write_gguf(staged, src, c, gguf_tensors(c, checkpoint))
        model = load_reference(src)
        params = dict(model.named_parameters())
        values, packed, listing = reconstruct(staged, c, list(params))

        stats: dict = {}
        originals = dict(checkpoint)
        bad = [k for k, v in packed.items() if not np.array_equal(v, originals[k].numpy())]
        if bad:
            raise SystemExit(f"MXFP4 bytes do not round-trip: {bad}")
        stats["mxfp4_tensors_byte_identical_after_round_trip"] = f"{len(packed)}/{len(packed)}"

        if set(values) != set(params):
            raise SystemExit(f"reconstructed tensors differ from the model's: {set(values) ^ set(params)}")
        mismatched = [k for k in params if not torch.equal(values[k], params[k].detach())]
        if mismatched:
            raise SystemExit(f"reconstructed tensors differ from transformers' loaded weights: {mismatched}")
        stats["tensors_bit_exact"] = f"{len(values)}/{len(values)}"

        fresh = load_reference(src)
        mgf.load_weights(fresh, values, complete=True)
        logits = mmf.forward_logits(fresh, ids)
        stats["max_abs_diff_vs_models_reference"] = float((logits - stored_logits).abs().max())
        if not torch.equal(logits, stored_logits):
            raise SystemExit("logits from the reconstructed weights differ from the checkpoint's reference")
        prompt = ref_json["greedy"]["prompt_ids"]
        new_ids = mmf.greedy_with_cache(fresh, prompt)
        if new_ids != ref_json["greedy"]["new_ids"] or new_ids != mmf.greedy_without_cache(fresh, prompt):
            raise SystemExit("greedy continuation from the reconstructed weights differs from the reference")
        stats.update({"probe_" + k: v for k, v in probes(model, src, values, ids, logits).items()})
        metadata = mgf.read_metadata(staged)

        if out_dir.exists():
            shutil.rmtree(out_dir)
        out_dir.mkdir(parents=True)
        shutil.copy(staged, out_dir / "model.gguf")
    np.asarray(logits.numpy(), dtype="<f4").tofile(out_dir / "logits.f32")
    reference = {
        "input_ids": ids,
        "logits_file": "logits.f32",
        "logits_shape": list(logits.shape),
        "greedy": {"prompt_ids": prompt, "new_ids": new_ids},
        "dtype_of_weights": "bfloat16",
        "expert_weights": "mxfp4",
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__.split("+")[0],
        "source": "models/" + src.name,
    }
    (out_dir / "reference.json").write_text(json.dumps(reference, indent=1) + "\n")
    stats["file_bytes"] = (out_dir / "model.gguf").stat().st_size
    if listing_wanted:
        stats["_metadata"], stats["_tensors"] = metadata, listing
    return stats


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--src", type=Path, default=DEFAULT_SRC, help="Hugging Face gpt-oss checkpoint folder")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--listing", action="store_true", help="also print every metadata key and tensor")
    args = ap.parse_args()

    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    stats = build(args.src, args.out, args.listing)
    metadata, listing = stats.pop("_metadata", []), stats.pop("_tensors", [])
    print(f"== {args.out}")
    for k, v in stats.items():
        print(f"  {k}: {v:.4g}" if isinstance(v, float) else f"  {k}: {v}")
    for key, kind, value in metadata:
        print(f"  kv {key} ({kind}) = {value}")
    for name, qtype, shape in listing:
        print(f"  tensor {name} {qtype} {shape}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
