#!/usr/bin/env python3
"""Writes tests/data/gemma3_270m/reference.json: float32 reference outputs of the real Gemma 3 270M
Q4_K_M GGUF, against which Strata's own GGUF path (dequantisation, Gemma 3 forward, tokenizer) is tested.

Usage:
    packaging/install-models.sh                       # puts the GGUF in the default models folder
    python3 tests/tools/make_gemma3_270m_reference.py [--gguf PATH] [--out DIR]

Needs torch, transformers (>= 5), gguf, tokenizers and numpy. Runs on the CPU in float32; about ten minutes on two cores.

Two independent float32 models are built from the same GGUF file:
  * "transformers-gguf": AutoModelForCausalLM.from_pretrained(dir, gguf_file=...), i.e. transformers' own
    GGUF dequantisation, name mapping and norm handling;
  * "by-hand": Gemma3ForCausalLM from an explicit Gemma3TextConfig with the published 270M values, its
    weights dequantised here with gguf-py and mapped by name (reversed GGUF dims, norms stored as w+1).
gguf-py's dequantisation (shared by both) is itself checked against block decoders written here from the
GGML layouts (Q8_0, Q5_0, Q4_K, Q6_K). Their configs, weights and logits are compared, and the GGUF-derived tokenizer is compared with the real
Gemma 3 tokenizer.json. The script stops with a message if any check fails. The fixture is taken from
transformers' GGUF load when it agrees with the by-hand model, otherwise from the by-hand model.
"""

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch

MODEL_NAME = "gemma-3-270m-q4_k_m.gguf"
MODEL_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_TOKENIZER = Path("/work/shared/tokenizers/gemma3/tokenizer.json")

# Exactly 64 tokens with <bos>; checked below against both tokenizers.
TEXT = ("The Danube is the second-longest river in Europe, after the Volga. It rises in the Black Forest of "
        "Germany and flows about 2,850 kilometres through ten countries, including Austria, Hungary and "
        "Romania, before emptying into the Black Sea. The capitals Vienna, Budapest and Belgrade stand on "
        "its banks.")
TEXT_TOKENS = 64
TOP_K = 20

QUESTIONS = [
    "What is the capital of France?",
    "How many legs does a spider have?",
    "What is the chemical symbol for gold?",
    "Who wrote Romeo and Juliet?",
]
# The GGUF is the pretrained (not instruction-tuned) 270M: it has no chat template and answers chat
# prompts poorly, so a few plain completions that it does get right are recorded as well.
COMPLETIONS = [
    "The capital of France is",
    "The chemical symbol for gold is",
    "Romeo and Juliet was written by",
]
CHAT_TEMPLATE = "<bos><start_of_turn>user\n{q}<end_of_turn>\n<start_of_turn>model\n"
MAX_NEW_TOKENS = 24
STOP_IDS = (106, 1)  # <end_of_turn>, <eos>

# Agreement the two float32 models must reach: they differ only in summation order and in whatever
# transformers does differently, so anything above float noise is a real discrepancy.
LOGIT_TOLERANCE = 2e-3

# Published Gemma 3 270M text configuration; what the GGUF load must reproduce.
EXPECTED_CONFIG = dict(
    vocab_size=262144, hidden_size=640, intermediate_size=2048, num_hidden_layers=18,
    num_attention_heads=4, num_key_value_heads=1, head_dim=256, query_pre_attn_scalar=256,
    sliding_window=512, rms_norm_eps=1e-6, hidden_activation="gelu_pytorch_tanh",
    tie_word_embeddings=True, final_logit_softcapping=None, attn_logit_softcapping=None,
)
ROPE_THETA_FULL = 1e6
ROPE_THETA_SLIDING = 1e4


def fail(message):
    sys.exit(f"make_gemma3_270m_reference: {message}")


def default_gguf_path():
    base = os.environ.get("STRATA_MODELS_DIR")
    if not base:
        data = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
        base = os.path.join(data, "strata", "models")
    return Path(base) / MODEL_NAME


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def layer_types(n_layers):
    return ["full_attention" if (i + 1) % 6 == 0 else "sliding_attention" for i in range(n_layers)]


def rope_thetas(config):
    params = getattr(config, "rope_parameters", None) or {}
    return (params.get("full_attention", {}).get("rope_theta"),
            params.get("sliding_attention", {}).get("rope_theta"))


def check_config(config):
    problems = []
    for key, want in EXPECTED_CONFIG.items():
        got = getattr(config, key, "<missing>")
        same = abs(got - want) <= 1e-9 * abs(want) + 1e-12 if isinstance(want, float) else got == want
        if not same:
            problems.append(f"{key}={got!r} (want {want!r})")
    if list(config.layer_types) != layer_types(config.num_hidden_layers):
        problems.append(f"layer_types={config.layer_types}")
    full, sliding = rope_thetas(config)
    if full != ROPE_THETA_FULL or sliding != ROPE_THETA_SLIDING:
        problems.append(f"rope_theta full={full} sliding={sliding} (want {ROPE_THETA_FULL} / {ROPE_THETA_SLIDING})")
    return problems


def explicit_config():
    from transformers import Gemma3TextConfig
    values = {k: v for k, v in EXPECTED_CONFIG.items()}
    return Gemma3TextConfig(
        **values,
        max_position_embeddings=32768,
        layer_types=layer_types(EXPECTED_CONFIG["num_hidden_layers"]),
        rope_parameters={
            "full_attention": {"rope_type": "default", "rope_theta": ROPE_THETA_FULL},
            "sliding_attention": {"rope_type": "default", "rope_theta": ROPE_THETA_SLIDING},
        },
        bos_token_id=2, eos_token_id=[1, 106], pad_token_id=0,
    )


GGUF_TO_HF_LAYER = {
    "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj", "attn_q_norm": "self_attn.q_norm", "attn_k_norm": "self_attn.k_norm",
    "attn_norm": "input_layernorm", "post_attention_norm": "post_attention_layernorm",
    "ffn_norm": "pre_feedforward_layernorm", "post_ffw_norm": "post_feedforward_layernorm",
    "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj",
}


def hf_name(gguf_name):
    if gguf_name == "token_embd.weight":
        return "model.embed_tokens.weight"
    if gguf_name == "output_norm.weight":
        return "model.norm.weight"
    parts = gguf_name.split(".")
    if len(parts) == 4 and parts[0] == "blk" and parts[2] in GGUF_TO_HF_LAYER and parts[3] == "weight":
        return f"model.layers.{parts[1]}.{GGUF_TO_HF_LAYER[parts[2]]}.weight"
    fail(f"unexpected GGUF tensor {gguf_name}")


def dequantised_state_dict(gguf_path):
    """GGUF tensors as HF-named float32 tensors. GGUF lists dims fastest-first, so gguf-py's numpy shape
    (slowest-first) is already HF's [out, in]. Gemma norms are stored as w+1 and HF applies (1+w)."""
    from gguf import GGUFReader
    from gguf.quants import dequantize
    reader = GGUFReader(str(gguf_path))
    state, raw_norms, own_diff = {}, {}, {}
    for t in reader.tensors:
        values = np.asarray(dequantize(t.data, t.tensor_type), dtype=np.float32)
        own = _independent_dequant(t)
        if own is None:
            fail(f"{t.name}: no independent dequantiser for {t.tensor_type.name}")
        kind = t.tensor_type.name
        own_diff[kind] = max(own_diff.get(kind, 0.0), float(np.abs(own - values.reshape(-1)).max()))
        want_shape = tuple(int(d) for d in reversed(t.shape.tolist()))
        if values.shape != want_shape:
            fail(f"{t.name}: dequantised shape {values.shape}, GGUF dims say {want_shape}")
        name = hf_name(t.name)
        if t.name.endswith("norm.weight"):
            raw_norms[name] = values.copy()
            values = values - np.float32(1.0)
        state[name] = torch.from_numpy(np.ascontiguousarray(values))
    return state, raw_norms, own_diff


def _f16(blocks, start):
    return blocks[:, start:start + 2].copy().view(np.float16).astype(np.float32)


def _q8_0(b):
    return _f16(b, 0) * b[:, 2:34].view(np.int8).astype(np.float32)


def _q5_0(b):
    d, qh = _f16(b, 0), b[:, 2:6].copy().view(np.uint32)
    qs = b[:, 6:22].astype(np.int32)
    bits = (qh >> np.arange(32, dtype=np.uint32)) & 1  # bit j is the fifth bit of element j
    q = np.concatenate([qs & 0xF, qs >> 4], axis=1) | (bits.astype(np.int32) << 4)
    return d * (q - 16).astype(np.float32)


def _k_scales(sc):
    """Q4_K's twelve scale bytes hold eight 6-bit scales and eight 6-bit mins."""
    sc = sc.astype(np.int32)
    scales = np.concatenate([sc[:, 0:4] & 63, (sc[:, 8:12] & 0xF) | ((sc[:, 0:4] >> 6) << 4)], axis=1)
    mins = np.concatenate([sc[:, 4:8] & 63, (sc[:, 8:12] >> 4) | ((sc[:, 4:8] >> 6) << 4)], axis=1)
    return scales.astype(np.float32), mins.astype(np.float32)


def _q4_k(b):
    d, dmin = _f16(b, 0), _f16(b, 2)
    scales, mins = _k_scales(b[:, 4:16])
    qs = b[:, 16:144].reshape(-1, 4, 32).astype(np.int32)
    q = np.stack([qs & 0xF, qs >> 4], axis=2).reshape(-1, 8, 32)  # sub-block 2c: low nibbles, 2c+1: high
    return (d[:, :, None] * scales[:, :, None] * q - dmin[:, :, None] * mins[:, :, None]).reshape(-1, 256)


def _q6_k(b):
    ql = b[:, 0:128].reshape(-1, 2, 64).astype(np.int32)
    qh = b[:, 128:192].reshape(-1, 2, 32).astype(np.int32)
    sc = b[:, 192:208].view(np.int8).astype(np.float32).reshape(-1, 2, 8)
    d = _f16(b, 208)
    q = np.stack([(ql[:, :, :32] & 0xF) | ((qh & 3) << 4),
                  (ql[:, :, 32:] & 0xF) | (((qh >> 2) & 3) << 4),
                  (ql[:, :, :32] >> 4) | (((qh >> 4) & 3) << 4),
                  (ql[:, :, 32:] >> 4) | (((qh >> 6) & 3) << 4)], axis=2) - 32  # [blk, half, 4, 32]
    scale = sc.reshape(-1, 2, 4, 2)[:, :, :, :, None]  # one scale per 16 values
    values = q.reshape(-1, 2, 4, 2, 16).astype(np.float32) * scale
    return d * values.reshape(-1, 256)


def _independent_dequant(t):
    """Dequantisation written from the GGML block layouts, to catch a gguf-py bug that transformers'
    loader would share."""
    kinds = {"Q8_0": (34, _q8_0), "Q5_0": (22, _q5_0), "Q4_K": (144, _q4_k), "Q6_K": (210, _q6_k)}
    name = t.tensor_type.name
    if name == "F32":
        return np.asarray(t.data, dtype=np.float32).reshape(-1)
    if name not in kinds:
        return None
    size, fn = kinds[name]
    return fn(np.asarray(t.data, dtype=np.uint8).reshape(-1, size)).reshape(-1)


def build_by_hand(gguf_path):
    from transformers import Gemma3ForCausalLM
    torch.manual_seed(0)
    model = Gemma3ForCausalLM(explicit_config()).to(torch.float32)
    state, raw_norms, own_diff = dequantised_state_dict(gguf_path)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or [m for m in missing if m != "lm_head.weight"]:
        fail(f"by-hand load: missing {missing}, unexpected {unexpected}")
    model.tie_weights()
    if model.lm_head.weight.data_ptr() != model.model.embed_tokens.weight.data_ptr():
        fail("by-hand model: lm_head is not tied to embed_tokens")
    model.eval()
    return model, state, raw_norms, own_diff


def load_checked_gguf(gguf_path):
    """The default model, after checking it is the file the fixtures were made from."""
    if not gguf_path.is_file():
        fail(f"{gguf_path} not found; run packaging/install-models.sh first")
    digest = sha256_of(gguf_path)
    if digest != MODEL_SHA256:
        fail(f"{gguf_path}: sha256 {digest}, expected {MODEL_SHA256}")
    print("loading with transformers' GGUF path ...", flush=True)
    return load_transformers_gguf(gguf_path)


def load_transformers_gguf(gguf_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    folder, name = str(gguf_path.parent), gguf_path.name
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32,
                                                 attn_implementation="eager")
    model.eval()
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    return model, tokenizer


def compare_weights(hf_model, state):
    """Largest |difference| per kind between transformers' GGUF weights and the by-hand ones."""
    hf_state = hf_model.state_dict()
    worst = {"norm": 0.0, "other": 0.0}
    for name, want in state.items():
        if name not in hf_state:
            fail(f"transformers' GGUF model has no parameter {name}")
        got = hf_state[name].detach().to(torch.float32)
        if got.shape != want.shape:
            fail(f"{name}: transformers shape {tuple(got.shape)}, by-hand {tuple(want.shape)}")
        kind = "norm" if name.endswith("norm.weight") else "other"
        worst[kind] = max(worst[kind], float((got - want).abs().max()))
    return worst


@torch.inference_mode()
def logits_of(model, ids):
    return model(torch.tensor([ids])).logits[0].to(torch.float32).numpy()


@torch.inference_mode()
def greedy(model, prompt_ids):
    """Plain argmax decoding with the whole sequence recomputed each step (no cache to get wrong).
    Also returns each step's top-1 minus top-2 logit, so a test can tell a robust choice from a near tie."""
    ids = list(prompt_ids)
    new, margins = [], []
    for _ in range(MAX_NEW_TOKENS):
        row = model(torch.tensor([ids]), logits_to_keep=1).logits[0, -1].to(torch.float32)
        top2 = torch.topk(row, 2)
        next_id = int(top2.indices[0])
        new.append(next_id)
        margins.append(float(top2.values[0] - top2.values[1]))
        ids.append(next_id)
        if next_id in STOP_IDS:
            break
    return new, margins


@torch.inference_mode()
def generate_ids(model, prompt_ids):
    out = model.generate(torch.tensor([prompt_ids]), max_new_tokens=MAX_NEW_TOKENS, do_sample=False,
                         eos_token_id=list(STOP_IDS), pad_token_id=0)
    return [int(i) for i in out[0, len(prompt_ids):]]


def greedy_case(reference, other, tokenizer, question, rendered, prompt_ids):
    new_ids = generate_ids(reference, prompt_ids)
    loop_ids, margins = greedy(reference, prompt_ids)
    other_ids, _ = greedy(other, prompt_ids)
    if new_ids != loop_ids:
        fail(f"{question!r}: generate() gave {new_ids}, the argmax loop gave {loop_ids}")
    text = tokenizer.decode([i for i in new_ids if i not in STOP_IDS], skip_special_tokens=False)
    agrees = other_ids == new_ids
    print(f"  {question!r} -> {text!r} (min margin {min(margins):.3g}; other model "
          f"{'agrees' if agrees else 'DIFFERS: ' + repr(other_ids)})", flush=True)
    return {
        "question": question,
        "prompt": rendered,
        "prompt_ids": prompt_ids,
        "new_ids": new_ids,
        "stopped": bool(new_ids[-1] in STOP_IDS),
        "text": text,
        "margins": margins,
        "other_model_agrees": agrees,
    }


def position_records(logits):
    records = []
    for row in logits:
        order = np.argsort(-row, kind="stable")[:TOP_K]
        m = float(row.max())
        lse = m + float(np.log(np.sum(np.exp(row.astype(np.float64) - m))))
        records.append({
            "argmax": int(np.argmax(row)),
            "logsumexp": lse,
            "top_ids": [int(i) for i in order],
            "top_logits": [float(row[i]) for i in order],
        })
    return records


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gguf", type=Path, default=default_gguf_path())
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "tests" / "data" / "gemma3_270m")
    args = parser.parse_args()

    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)
    import transformers
    transformers.set_seed(0)

    hf_model, hf_tok = load_checked_gguf(args.gguf)
    config_problems = check_config(hf_model.config)
    print("  config:", "as expected" if not config_problems else "; ".join(config_problems))

    print("building the by-hand model from gguf-py dequantisation ...", flush=True)
    hand_model, state, raw_norms, own_diff = build_by_hand(args.gguf)
    print(f"  max |gguf-py - own dequantisation| per type: {own_diff}")
    if max(own_diff.values()) > 1e-6:
        fail("gguf-py's dequantisation disagrees with the block layouts written here")
    hand_problems = check_config(hand_model.config)
    if hand_problems:
        fail("explicit config does not match the expected values: " + "; ".join(hand_problems))
    norm_means = [float(v.mean()) for v in raw_norms.values()]
    print(f"  GGUF norm weights: {len(raw_norms)} tensors, means in [{min(norm_means):.3f}, {max(norm_means):.3f}]"
          " (stored as w+1)")
    weight_diff = compare_weights(hf_model, state)
    print(f"  max |transformers - by-hand| weights: norms {weight_diff['norm']:.3g}, others {weight_diff['other']:.3g}")

    from tokenizers import Tokenizer
    real_tok = Tokenizer.from_file(str(SHARED_TOKENIZER))
    token_ids = real_tok.encode(TEXT).ids
    gguf_ids = hf_tok(TEXT)["input_ids"]
    if len(token_ids) != TEXT_TOKENS or token_ids[0] != 2:
        fail(f"TEXT tokenises to {len(token_ids)} tokens (first {token_ids[:1]}), need {TEXT_TOKENS} with <bos>")
    tokenizer_checks = {"text": gguf_ids == token_ids}
    prompts = []
    for q in QUESTIONS:
        rendered = CHAT_TEMPLATE.format(q=q)
        ids = real_tok.encode(rendered, add_special_tokens=False).ids
        tokenizer_checks[q] = hf_tok(rendered, add_special_tokens=False)["input_ids"] == ids
        prompts.append((q, rendered, ids))
    print("  GGUF tokenizer == tokenizer.json:", tokenizer_checks)
    if not all(tokenizer_checks.values()):
        fail("the GGUF-derived tokenizer disagrees with the real Gemma 3 tokenizer")

    print("comparing logits ...", flush=True)
    hf_logits = logits_of(hf_model, token_ids)
    hand_logits = logits_of(hand_model, token_ids)
    logit_diff = float(np.abs(hf_logits - hand_logits).max())
    argmax_same = bool((hf_logits.argmax(-1) == hand_logits.argmax(-1)).all())
    print(f"  max |logit difference| over 64 x 262144: {logit_diff:.3g}; argmax identical: {argmax_same}")

    hf_agrees = not config_problems and logit_diff <= LOGIT_TOLERANCE and argmax_same
    reference_name = "transformers-gguf" if hf_agrees else "by-hand"
    reference = hf_model if hf_agrees else hand_model
    ref_logits = hf_logits if hf_agrees else hand_logits
    print(f"  reference path: {reference_name}")

    other = hand_model if hf_agrees else hf_model
    greedy_records = [greedy_case(reference, other, real_tok, q, rendered, ids) for q, rendered, ids in prompts]
    completion_records = []
    for prompt in COMPLETIONS:
        rendered = "<bos>" + prompt
        ids = real_tok.encode(rendered, add_special_tokens=False).ids
        completion_records.append(greedy_case(reference, other, real_tok, prompt, rendered, ids))
    teacher_forced = sum(int(ref_logits[i].argmax()) == token_ids[i + 1] for i in range(TEXT_TOKENS - 1))
    print(f"  teacher-forced top-1 on TEXT: {teacher_forced}/{TEXT_TOKENS - 1}")

    fixture = {
        "model": MODEL_NAME,
        "text": TEXT,
        "token_ids": token_ids,
        "top_k": TOP_K,
        "positions": position_records(ref_logits),
        "greedy_settings": {
            "template": CHAT_TEMPLATE,
            "max_new_tokens": MAX_NEW_TOKENS,
            "stop_ids": list(STOP_IDS),
        },
        "greedy": greedy_records,
        "completions": completion_records,
        "generator": {
            "script": "tests/tools/make_gemma3_270m_reference.py",
            "transformers": transformers.__version__,
            "torch": torch.__version__,
            "dtype": "float32",
            "attention": "eager",
            "gguf_sha256": MODEL_SHA256,
            "reference_path": reference_name,
            "checks": {
                "transformers_config_problems": config_problems,
                "max_abs_dequant_diff_gguf_py_vs_own": own_diff,
                "max_abs_weight_diff_norms": weight_diff["norm"],
                "max_abs_weight_diff_other": weight_diff["other"],
                "max_abs_logit_diff_transformers_vs_by_hand": logit_diff,
                "argmax_identical": argmax_same,
                "gguf_tokenizer_matches_tokenizer_json": all(tokenizer_checks.values()),
                "teacher_forced_top1_on_text": f"{teacher_forced}/{TEXT_TOKENS - 1}",
            },
        },
    }
    args.out.mkdir(parents=True, exist_ok=True)
    out_file = args.out / "reference.json"
    with open(out_file, "w") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")
    print(f"wrote {out_file} ({out_file.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
