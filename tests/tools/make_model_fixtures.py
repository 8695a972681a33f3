#!/usr/bin/env python3
"""Regenerates the tiny random-weight model fixtures in tests/data/models/.

Each fixture folder holds a checkpoint written by transformers' save_pretrained (so the engine
meets the exact key layout and config.json that transformers writes), a small trained byte-level
BPE tokenizer, and reference outputs computed by transformers itself:

  reference.json  input ids, greedy continuation, versions
  logits.f32      raw little-endian float32 [48, vocab] logits of one no-cache forward pass

The reference is computed the way Strata computes: weights rounded to the stored dtype
(bf16 / f16), arithmetic in float32, eager attention.

gpt_oss_mxfp4 is the one checkpoint not written by save_pretrained alone: transformers cannot
quantise to MXFP4 without its GPU kernels, so the script writes random MXFP4 expert blocks and
scales itself (in the layout of the openai/gpt-oss checkpoints) and transformers dequantises them
when it loads the folder for the reference (Mxfp4Config(dequantize=True)).

Usage: python3 tests/tools/make_model_fixtures.py [--only NAME ...] [--out DIR]
Deterministic (fixed seeds); runs on the CPU in well under two minutes.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import transformers
from safetensors.torch import load_file, save_file
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO / "tests" / "data" / "models"

SEQ_LEN = 48
PROMPT_LEN = 16
NEW_TOKENS = 32
VOCAB = 512

BOS, EOS, PAD = "<|begin_of_text|>", "<|end_of_text|>", "<|pad|>"
SPECIALS = [BOS, EOS, PAD]  # ids 0, 1, 2
BOS_ID, EOS_ID, PAD_ID = 0, 1, 2

# Same pre-tokenizer split as the Llama 3 tokenizer, so the fixture exercises the real code path.
SPLIT_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)

CORPUS = [
    "The quick brown fox jumps over the lazy dog while the farmer watches from the porch.",
    "Strata reads model weights from disk, layer by layer, and keeps the cache on a fast drive.",
    "A language model predicts the next token from the tokens that came before it.",
    "The analyst dropped three reports, a log file and a recording into the window and asked a question.",
    "When the sun sets over the hills, the river turns gold and the birds fly home to their nests.",
    "Please summarise the findings of the report in five short bullet points for the meeting.",
    "It was the best of times, it was the worst of times, it was the age of wisdom.",
    "Numbers like 42, 1024 and 3.14159 appear in tables, logs and source code all the time.",
    "def attention(query, key, value, mask=None):\n    scores = query @ key.T / math.sqrt(d)\n"
    "    if mask is not None:\n        scores = scores + mask\n    return softmax(scores) @ value\n",
    "for (int i = 0; i < n; ++i) {\n    sum += weights[i] * inputs[i];\n}\nreturn sum;\n",
    "struct Config { int hidden_size; int num_layers; float rms_norm_eps; };\n",
    "import numpy as np\nx = np.zeros((4, 4), dtype=np.float32)\nprint(x.sum())\n",
    "SELECT name, count(*) FROM sessions WHERE state = 'done' GROUP BY name ORDER BY 2 DESC;",
    "The committee will meet again on Thursday to review the budget and the new hiring plan.",
    "Water boils at one hundred degrees Celsius at sea level, but at a lower temperature in the mountains.",
    "She opened the old book, read the first page twice, and then closed it with a quiet smile.",
    "Error: could not open file 'model.safetensors': no such file or directory (errno 2)",
    "The engine streams each layer from the solid state drive, runs it, and moves on to the next one.",
]
SENTENCE = (
    "The quick brown fox reads the report, writes a short summary of the findings, and then "
    "asks the analyst which of the three log files shows the error in the model loader."
)


def train_tokenizer() -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(SPLIT_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB,
        min_frequency=1,
        special_tokens=SPECIALS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS * 4, trainer=trainer)
    # Llama 3 looks a whole pre-token up in the vocabulary before applying merges.
    spec = json.loads(tok.to_str())
    spec["model"]["ignore_merges"] = True
    tok = Tokenizer.from_str(json.dumps(spec))
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, BOS_ID)]
    )
    assert tok.get_vocab_size() == VOCAB, tok.get_vocab_size()
    for i, s in enumerate(SPECIALS):
        assert tok.token_to_id(s) == i
    return tok


def write_tokenizer(tok: Tokenizer, folder: Path) -> None:
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=BOS, eos_token=EOS, pad_token=PAD, clean_up_tokenization_spaces=False
    )
    fast.save_pretrained(str(folder))


def input_ids_for(tok: Tokenizer) -> list[int]:
    ids = tok.encode(SENTENCE).ids
    assert len(ids) >= SEQ_LEN, f"sentence encodes to only {len(ids)} tokens"
    return ids[:SEQ_LEN]


@dataclass
class Fixture:
    name: str
    model_cls: Callable
    config: transformers.PreTrainedConfig
    storage: torch.dtype
    seed: int
    embed_std: float
    proj_std: float
    norm: str  # "plain": w ~ 1 + N(0, s); "offset": (1 + w) norms, w ~ N(0, s)
    norm_std: float = 0.1
    bias_std: float = 0.1  # linear layers' biases ~ N(0, s), where the architecture has them
    # Multiplies the effective final-norm gain: lets a tied model have wide logits while the
    # embedding stays small enough that the residual stream is not just the input token.
    final_norm_gain: float = 1.0
    max_shard_size: str | None = None
    # (label, config mutator): each reports how far the logits move when a detail is got wrong,
    # proving the fixture is sensitive to it.
    probes: list[tuple[str, Callable]] = field(default_factory=list)
    # A multimodal wrapper takes its text weights from this text-only fixture, so both must give
    # identical logits through different checkpoint layouts.
    text_weights_from: "Fixture | None" = None
    # (name suffix, std): parameters whose name ends with the suffix are drawn from N(0, std)
    # instead of by the generic rules below (first match wins).
    param_std: list[tuple[str, float]] = field(default_factory=list)
    # Extra from_pretrained arguments for the reference (a function: quantization configs are
    # consumed by the load).
    load_kwargs: Callable[[], dict] = dict
    # (label, weight mutator): like probes, but changing the loaded weights instead of the config.
    weight_probes: list[tuple[str, Callable]] = field(default_factory=list)
    # "mxfp4": the MoE experts' matrices are stored as MXFP4 blocks and scales (see write_mxfp4).
    expert_format: str | None = None
    mxfp4_scale_exponents: dict[str, tuple[int, int]] = field(default_factory=dict)


def common_ids() -> dict:
    return dict(vocab_size=VOCAB, bos_token_id=BOS_ID, eos_token_id=EOS_ID, pad_token_id=PAD_ID)


def fixtures() -> list[Fixture]:
    llama3_rope = {
        "rope_type": "llama3",
        "factor": 8.0,
        "low_freq_factor": 1.0,
        "high_freq_factor": 4.0,
        "original_max_position_embeddings": 16,
    }
    gemma3_text = Fixture(
        name="gemma3_text",
        model_cls=transformers.Gemma3ForCausalLM,
        config=transformers.Gemma3TextConfig(
            hidden_size=64, num_hidden_layers=7, num_attention_heads=4, num_key_value_heads=1, head_dim=32,
            query_pre_attn_scalar=24, intermediate_size=128, rms_norm_eps=1e-6, sliding_window=8,
            rope_theta=1e6, rope_local_base_freq=10000.0, rope_scaling={"rope_type": "linear", "factor": 8.0},
            # Gemma 3 in transformers 5.23 never passes attn_logit_softcapping to the attention
            # function, so the value would be ignored by the reference; keep it null like the real
            # checkpoints (see README and check_gemma3_attn_softcap_is_ignored).
            attn_logit_softcapping=None, final_logit_softcapping=15.0,
            max_position_embeddings=256, tie_word_embeddings=True, **common_ids(),
        ),
        storage=torch.bfloat16, seed=1003, embed_std=0.12, proj_std=0.12, norm="offset",
        final_norm_gain=2.5,
        probes=[
            ("no_sliding_window", lambda c: setattr(c, "sliding_window", 4096)),
            ("no_full_rope_scaling", lambda c: c.rope_parameters["full_attention"].update(rope_type="default")),
            ("local_rope_uses_global_theta", lambda c: c.rope_parameters["sliding_attention"].update(
                rope_theta=1e6)),
            ("no_final_softcap", lambda c: setattr(c, "final_logit_softcapping", None)),
        ],
    )
    # The same text model wrapped in the multimodal class, to cover its checkpoint key layout.
    # Vision tower and projector are tiny and unused by the text-only reference. The wrapper in
    # transformers 5.23 ignores final_logit_softcapping, so it is null here (real checkpoints
    # have it null too) and the logits are gemma3_text's before its cap.
    vision = transformers.SiglipVisionConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, image_size=28,
        patch_size=14, vision_use_head=False,
    )
    gemma3_conditional = Fixture(
        name="gemma3_conditional_text",
        model_cls=transformers.Gemma3ForConditionalGeneration,
        config=transformers.Gemma3Config(
            text_config=dict(gemma3_text.config.to_dict(), final_logit_softcapping=None), vision_config=vision.to_dict(), mm_tokens_per_image=4,
            boi_token_index=3, eoi_token_index=4, image_token_index=5,
        ),
        storage=torch.bfloat16, seed=2003, embed_std=0.12, proj_std=0.12, norm="offset",
        text_weights_from=gemma3_text,
    )
    return [
        Fixture(
            name="llama_tied",
            model_cls=transformers.LlamaForCausalLM,
            config=transformers.LlamaConfig(
                hidden_size=64, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                intermediate_size=160, rms_norm_eps=1e-5, rope_theta=10000.0, rope_scaling=llama3_rope,
                max_position_embeddings=256, tie_word_embeddings=True, **common_ids(),
            ),
            storage=torch.bfloat16, seed=1004, embed_std=0.35, proj_std=0.12, norm="plain",
            probes=[("no_rope_scaling", lambda c: c.rope_parameters.update(rope_type="default"))],
        ),
        Fixture(
            name="llama_untied_sharded",
            model_cls=transformers.LlamaForCausalLM,
            config=transformers.LlamaConfig(
                hidden_size=96, num_hidden_layers=3, num_attention_heads=6, num_key_value_heads=2, head_dim=16,
                intermediate_size=160, rms_norm_eps=1e-5, rope_theta=10000.0,
                max_position_embeddings=256, tie_word_embeddings=False, **common_ids(),
            ),
            storage=torch.bfloat16, seed=1002, embed_std=0.3, proj_std=0.1, norm="plain",
            max_shard_size="200KB",
        ),
        Fixture(
            name="qwen3",
            model_cls=transformers.Qwen3ForCausalLM,
            config=transformers.Qwen3Config(
                hidden_size=64, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2, head_dim=32,
                intermediate_size=128, rms_norm_eps=1e-6, rope_theta=1e6, max_position_embeddings=256,
                tie_word_embeddings=True, **common_ids(),
            ),
            storage=torch.float16, seed=1003, embed_std=0.35, proj_std=0.12, norm="plain",
        ),
        gemma3_text,
        gemma3_conditional,
        # Llama with attention_bias and mlp_bias: q, k, v and o projections and the whole MLP carry
        # biases (a checkpoint that loaded without them would give wrong logits everywhere).
        Fixture(
            name="llama_bias",
            model_cls=transformers.LlamaForCausalLM,
            config=transformers.LlamaConfig(
                hidden_size=64, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                intermediate_size=128, rms_norm_eps=1e-5, rope_theta=10000.0, attention_bias=True, mlp_bias=True,
                max_position_embeddings=256, tie_word_embeddings=True, **common_ids(),
            ),
            storage=torch.bfloat16, seed=1007, embed_std=0.35, proj_std=0.12, norm="plain", bias_std=0.2,
        ),
        # Qwen2 / Qwen2.5: Llama's block with biases on q, k and v (not o), no q/k norm.
        Fixture(
            name="qwen2",
            model_cls=transformers.Qwen2ForCausalLM,
            config=transformers.Qwen2Config(
                hidden_size=64, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2,
                intermediate_size=128, rms_norm_eps=1e-6, rope_theta=1e6, max_position_embeddings=256,
                tie_word_embeddings=True, **common_ids(),
            ),
            storage=torch.bfloat16, seed=1108, embed_std=0.35, proj_std=0.12, norm="plain", bias_std=0.2,
        ),
        # Qwen2 with YaRN rope scaling, as Qwen2.5's long-context configs add it (factor 4 over
        # an original 64 positions, so frequencies 1 and 2 sit on the ramp; attention factor
        # 0.1 ln 4 + 1 on cos and sin).
        Fixture(
            name="qwen2_yarn",
            model_cls=transformers.Qwen2ForCausalLM,
            config=transformers.Qwen2Config(
                hidden_size=64, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2,
                intermediate_size=128, rms_norm_eps=1e-6, rope_theta=10000.0, max_position_embeddings=256,
                rope_scaling={"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 64},
                tie_word_embeddings=True, **common_ids(),
            ),
            storage=torch.bfloat16, seed=1210, embed_std=0.35, proj_std=0.12, norm="plain", bias_std=0.2,
            probes=[("no_rope_scaling", lambda c: c.rope_parameters.update(rope_type="default"))],
        ),
        *gpt_oss_fixtures(),
    ]


GPT_OSS_QUANTIZATION_CONFIG = {
    # As in the openai/gpt-oss-20b and -120b config.json: only the experts are MXFP4.
    "modules_to_not_convert": ["model.layers.*.self_attn", "model.layers.*.mlp.router", "model.embed_tokens", "lm_head"],
    "quant_method": "mxfp4",
}


def gpt_oss_config() -> transformers.GptOssConfig:
    # YaRN as gpt-oss has it (factor 32, betas 32 / 1, truncate false, theta 150000) over an
    # original context of 512 instead of 4096, so that with head_dim 16 the ramp falls on
    # frequencies 1 and 2 (inv_freq 1, 0.19, 0.022, then interpolated 3.6e-4 ...): scaled
    # frequencies move within 48 tokens, and truncation would change the ramp.
    return transformers.GptOssConfig(
        hidden_size=64, intermediate_size=64, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
        head_dim=16, num_local_experts=8, num_experts_per_tok=4, sliding_window=8, rms_norm_eps=1e-5,
        swiglu_limit=7.0, max_position_embeddings=16384, attention_bias=True, tie_word_embeddings=False,
        rope_parameters={
            "rope_type": "yarn", "factor": 32.0, "beta_fast": 32.0, "beta_slow": 1.0, "truncate": False,
            "original_max_position_embeddings": 512, "rope_theta": 150000.0,
        },
        **common_ids(),
    )


def gpt_oss_fixtures() -> list[Fixture]:
    probes = [
        ("no_sliding_window", lambda c: setattr(c, "sliding_window", 4096)),
        ("no_rope_scaling", lambda c: c.rope_parameters.update(rope_type="default")),
        ("yarn_truncated", lambda c: c.rope_parameters.update(truncate=True)),
        ("no_swiglu_limit", lambda c: setattr(c, "swiglu_limit", 1e9)),
    ]
    weight_probes = [("no_sinks", no_sinks)]
    common = dict(
        model_cls=transformers.GptOssForCausalLM, storage=torch.bfloat16, embed_std=0.35, proj_std=0.12,
        norm="plain", bias_std=0.2, probes=probes, weight_probes=weight_probes,
    )
    # Sinks ~ N(0, 1); router weights wide (router logits of std ~8 per token) so that each token
    # picks its own experts, far from ties; expert matrices wide enough that some gate / up values
    # pass the swiglu limit 7 (counted and printed). Biases ~ N(0, 0.2) everywhere.
    moe_std = [("self_attn.sinks", 1.0), ("mlp.router.weight", 1.0), ("mlp.experts.gate_up_proj", 0.35),
               ("mlp.experts.down_proj", 0.06), ("_proj_bias", 0.2)]
    return [
        Fixture(
            name="gpt_oss", config=gpt_oss_config(), seed=1300, param_std=moe_std,
            load_kwargs=lambda: {"experts_implementation": "eager"}, **common,
        ),
        # Same shape; expert matrices are random MXFP4 (uniform nibbles, scale 2^e with e uniform
        # in the range given), written in the openai/gpt-oss checkpoint layout.
        Fixture(
            name="gpt_oss_mxfp4", config=gpt_oss_config(), seed=1421, param_std=moe_std, expert_format="mxfp4",
            mxfp4_scale_exponents={"gate_up_proj": (-5, -3), "down_proj": (-8, -6)},
            load_kwargs=lambda: {"experts_implementation": "eager",
                                 "quantization_config": transformers.Mxfp4Config(dequantize=True)},
            **common,
        ),
    ]


def no_sinks(model: torch.nn.Module) -> None:
    for layer in model.model.layers:
        layer.self_attn.sinks.fill_(float("-inf"))


def randomised_model(fx: Fixture) -> torch.nn.Module:
    torch.manual_seed(fx.seed)
    model = fx.model_cls(fx.config)
    randomise(model, fx)
    if fx.text_weights_from is not None:
        text = randomised_model(fx.text_weights_from)
        model.model.language_model.load_state_dict(text.model.state_dict())
    return model


def randomise(model: torch.nn.Module, fx: Fixture) -> None:
    gen = torch.Generator().manual_seed(fx.seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters(), key=lambda kv: kv[0]):
            std = next((s for suffix, s in fx.param_std if name.endswith(suffix)), None)
            if std is not None:
                p.copy_(torch.randn(p.shape, generator=gen) * std)
            elif name.endswith(".bias"):
                p.copy_(torch.randn(p.shape, generator=gen) * fx.bias_std)
            elif p.dim() == 1:
                gain = fx.final_norm_gain if name == "model.norm.weight" else 1.0
                effective = gain * (1.0 + torch.randn(p.shape, generator=gen) * fx.norm_std)
                p.copy_(effective - 1.0 if fx.norm == "offset" else effective)
            elif "embed_tokens" in name or "lm_head" in name:
                p.copy_(torch.randn(p.shape, generator=gen) * fx.embed_std)
            else:
                p.copy_(torch.randn(p.shape, generator=gen) * fx.proj_std)


def load_reference(fx: Fixture, folder: Path, dtype: torch.dtype, **overrides) -> torch.nn.Module:
    model, info = fx.model_cls.from_pretrained(
        str(folder), dtype=dtype, attn_implementation="eager", output_loading_info=True,
        **{**fx.load_kwargs(), **overrides},
    )
    if any(info[k] for k in ("missing_keys", "unexpected_keys", "mismatched_keys", "error_msgs")):
        raise SystemExit(f"{fx.name}: transformers did not load the checkpoint cleanly: {info}")
    model.eval()
    model.generation_config.eos_token_id = None
    return model


def forward_logits(model: torch.nn.Module, ids: list[int]) -> torch.Tensor:
    with torch.no_grad():
        out = model(input_ids=torch.tensor([ids]), use_cache=False)
    return out.logits[0].float()


def greedy_with_cache(model: torch.nn.Module, prompt: list[int]) -> list[int]:
    with torch.no_grad():
        out = model.generate(
            torch.tensor([prompt]),
            attention_mask=torch.ones(1, len(prompt), dtype=torch.long),
            do_sample=False,
            max_new_tokens=NEW_TOKENS,
            min_new_tokens=NEW_TOKENS,
            use_cache=True,
            eos_token_id=None,
            pad_token_id=PAD_ID,
        )
    return out[0, len(prompt):].tolist()


def greedy_without_cache(model: torch.nn.Module, prompt: list[int]) -> list[int]:
    seq = list(prompt)
    for _ in range(NEW_TOKENS):
        seq.append(int(forward_logits(model, seq)[-1].argmax()))
    return seq[len(prompt):]


def check_gemma3_attn_softcap_is_ignored(folder: Path, ids: list[int], reference: torch.Tensor) -> None:
    cfg = transformers.Gemma3TextConfig.from_pretrained(str(folder))
    cfg.attn_logit_softcapping = 1.0  # would flatten attention completely if it were applied
    model = transformers.Gemma3ForCausalLM.from_pretrained(
        str(folder), config=cfg, dtype=torch.float32, attn_implementation="eager"
    )
    if not torch.equal(forward_logits(model.eval(), ids), reference):
        raise SystemExit(
            "this transformers version applies Gemma 3 attn_logit_softcapping; "
            "set it in the gemma3_text fixture and update the README"
        )


def probe_change(fx: Fixture, folder: Path, ids: list[int], reference: torch.Tensor, mutate: Callable) -> float:
    cfg = type(fx.config).from_pretrained(str(folder))
    mutate(cfg)
    model = fx.model_cls.from_pretrained(
        str(folder), config=cfg, dtype=torch.float32, attn_implementation="eager", **fx.load_kwargs()
    )
    return float((forward_logits(model.eval(), ids) - reference).abs().max())


def weight_probe_change(fx: Fixture, folder: Path, ids: list[int], reference: torch.Tensor, mutate: Callable) -> float:
    model = load_reference(fx, folder, torch.float32)
    with torch.no_grad():
        mutate(model)
    return float((forward_logits(model, ids) - reference).abs().max())


# ---- gpt-oss: MXFP4 experts, swiglu clamp and router statistics --------------------------------

MXFP4_LUT = np.array([0, 0.5, 1, 1.5, 2, 3, 4, 6, -0.0, -0.5, -1, -1.5, -2, -3, -4, -6], dtype=np.float32)


def random_mxfp4(gen: torch.Generator, experts: int, rows: int, cols: int, exponents: tuple[int, int]):
    """Uniform random nibbles and scale bytes 127 + e, e uniform in exponents (inclusive): the
    Hugging Face gpt-oss layout, blocks [E, rows, cols / 32, 16] and scales [E, rows, cols / 32],
    rows = output features."""
    blocks = torch.randint(0, 256, (experts, rows, cols // 32, 16), generator=gen, dtype=torch.uint8)
    scales = (torch.randint(exponents[0], exponents[1] + 1, (experts, rows, cols // 32), generator=gen) + 127).to(
        torch.uint8
    )
    return blocks, scales


def dequantise_mxfp4(blocks: torch.Tensor, scales: torch.Tensor) -> np.ndarray:
    """Independent of transformers: [E, rows, cols] float32, low nibble = even element."""
    b = blocks.numpy()
    values = np.empty(b.shape[:-1] + (32,), dtype=np.float32)
    values[..., 0::2] = MXFP4_LUT[b & 0x0F]
    values[..., 1::2] = MXFP4_LUT[b >> 4]
    values *= np.exp2(scales.numpy().astype(np.float32) - 127)[..., None]
    return values.reshape(b.shape[0], b.shape[1], -1)


def set_mxfp4_experts(model: torch.nn.Module, fx: Fixture) -> dict[str, torch.Tensor]:
    """Draws MXFP4 expert matrices, puts their exact values into the model's [E, in, out] experts
    and returns the blocks and scales to store in their place."""
    gen = torch.Generator().manual_seed(fx.seed + 1)
    cfg, packed = fx.config, {}
    with torch.no_grad():
        for i, layer in enumerate(model.model.layers):
            experts = layer.mlp.experts
            for proj, rows, cols in (
                ("gate_up_proj", 2 * cfg.intermediate_size, cfg.hidden_size),
                ("down_proj", cfg.hidden_size, cfg.intermediate_size),
            ):
                blocks, scales = random_mxfp4(gen, cfg.num_local_experts, rows, cols, fx.mxfp4_scale_exponents[proj])
                values = torch.from_numpy(dequantise_mxfp4(blocks, scales)).transpose(1, 2)  # [E, in, out]
                param = getattr(experts, proj)
                assert param.shape == values.shape, (param.shape, values.shape)
                param.copy_(values)
                assert torch.equal(param.float(), values), "MXFP4 values are not exact in the storage dtype"
                prefix = f"model.layers.{i}.mlp.experts.{proj}"
                packed[prefix + "_blocks"], packed[prefix + "_scales"] = blocks, scales
    return packed


def write_mxfp4(folder: Path, packed: dict[str, torch.Tensor]) -> None:
    """Replaces the dense expert matrices that save_pretrained wrote by their blocks and scales,
    and adds the quantization_config, as in the openai/gpt-oss checkpoints."""
    (weights_file,) = folder.glob("*.safetensors")
    tensors = load_file(str(weights_file))
    for name in {n.rsplit("_", 1)[0] for n in packed}:
        del tensors[name]
    tensors.update(packed)
    save_file(dict(sorted(tensors.items())), str(weights_file), metadata={"format": "pt"})
    config_path = folder / "config.json"
    config = json.loads(config_path.read_text())
    config["quantization_config"] = GPT_OSS_QUANTIZATION_CONFIG
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")  # as transformers writes it


def check_mxfp4_reference(model: torch.nn.Module, packed: dict[str, torch.Tensor]) -> None:
    from transformers.integrations.mxfp4 import convert_moe_packed_tensors

    for i, layer in enumerate(model.model.layers):
        for proj in ("gate_up_proj", "down_proj"):
            prefix = f"model.layers.{i}.mlp.experts.{proj}"
            blocks, scales = packed[prefix + "_blocks"], packed[prefix + "_scales"]
            loaded = getattr(layer.mlp.experts, proj).detach()
            assert loaded.dtype == torch.float32, loaded.dtype
            ours = torch.from_numpy(dequantise_mxfp4(blocks, scales)).transpose(1, 2)
            theirs = convert_moe_packed_tensors(blocks, scales, dtype=torch.float32)
            if not (torch.equal(loaded, ours) and torch.equal(loaded, theirs)):
                raise SystemExit(f"{prefix}: transformers' dequantised experts differ from the MXFP4 written")


@contextlib.contextmanager
def moe_statistics(limit: float):
    """Counts gate / up values past the swiglu limit, and the smallest gap between the k-th and
    (k+1)-th router logit, over the forward passes run inside."""
    from transformers.models.gpt_oss import modeling_gpt_oss as gpt_oss

    stats = {"gate_above_limit": 0, "up_above_limit": 0, "up_below_minus_limit": 0, "gate_up_values": 0,
             "min_router_topk_gap": float("inf")}
    apply_gate = gpt_oss.GptOssExperts._apply_gate
    route = gpt_oss.GptOssTopKRouter.forward

    def counting_gate(self, gate_up):
        assert self.limit == limit
        gate, up = gate_up[..., ::2], gate_up[..., 1::2]
        stats["gate_above_limit"] += int((gate > limit).sum())
        stats["up_above_limit"] += int((up > limit).sum())
        stats["up_below_minus_limit"] += int((up < -limit).sum())
        stats["gate_up_values"] += gate_up.numel()
        return apply_gate(self, gate_up)

    def measuring_route(self, hidden_states):
        out = route(self, hidden_states)
        top = out[0].topk(self.top_k + 1, dim=-1).values
        stats["min_router_topk_gap"] = min(stats["min_router_topk_gap"], float((top[:, -2] - top[:, -1]).min()))
        return out

    gpt_oss.GptOssExperts._apply_gate, gpt_oss.GptOssTopKRouter.forward = counting_gate, measuring_route
    try:
        yield stats
    finally:
        gpt_oss.GptOssExperts._apply_gate, gpt_oss.GptOssTopKRouter.forward = apply_gate, route


def min_greedy_margin(model: torch.nn.Module, prompt: list[int], new_ids: list[int]) -> float:
    """Smallest top1-top2 gap along the greedy path: how much numerical slack greedy parity has."""
    logits = forward_logits(model, prompt + new_ids)[len(prompt) - 1 : -1]
    top2 = logits.topk(2, dim=-1).values
    return float((top2[:, 0] - top2[:, 1]).min())


def build(fx: Fixture, tok: Tokenizer, out_root: Path) -> dict:
    folder = out_root / fx.name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)

    model = randomised_model(fx)
    packed = set_mxfp4_experts(model, fx) if fx.expert_format == "mxfp4" else None
    model = model.to(fx.storage)
    save_kwargs = {"max_shard_size": fx.max_shard_size} if fx.max_shard_size else {}
    model.save_pretrained(str(folder), **save_kwargs)
    if packed is not None:
        write_mxfp4(folder, packed)
    write_tokenizer(tok, folder)
    del model

    ids = input_ids_for(tok)
    ref = load_reference(fx, folder, torch.float32)
    if packed is not None:
        check_mxfp4_reference(ref, packed)
    is_moe = isinstance(fx.config, transformers.GptOssConfig)
    with moe_statistics(fx.config.swiglu_limit) if is_moe else contextlib.nullcontext() as moe_stats:
        logits = forward_logits(ref, ids)
    prompt = ids[:PROMPT_LEN]
    new_ids = greedy_with_cache(ref, prompt)
    if new_ids != greedy_without_cache(ref, prompt):
        raise SystemExit(f"{fx.name}: cached greedy differs from no-cache argmax continuation")

    np.asarray(logits.numpy(), dtype="<f4").tofile(folder / "logits.f32")
    reference = {
        "input_ids": ids,
        "logits_file": "logits.f32",
        "logits_shape": list(logits.shape),
        "greedy": {"prompt_ids": prompt, "new_ids": new_ids},
        "dtype_of_weights": str(fx.storage).removeprefix("torch."),
        **({"expert_weights": fx.expert_format} if fx.expert_format else {}),
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__.split("+")[0],
    }
    (folder / "reference.json").write_text(json.dumps(reference, indent=1) + "\n")

    top2 = logits.topk(2, dim=-1).values
    margins = top2[:, 0] - top2[:, 1]
    bf16_model = load_reference(fx, folder, torch.bfloat16)
    bf16_diff = float((forward_logits(bf16_model, ids) - logits).abs().max())
    stats = {
        **(moe_stats or {}),
        "max_abs_logit": float(logits.abs().max()),
        "logit_std": float(logits.std()),
        "mean_top1_margin": float(margins.mean()),
        "positions_margin_below_0.05": int((margins < 0.05).sum()),
        "distinct_greedy_tokens": len(set(new_ids)),
        "min_greedy_margin": min_greedy_margin(ref, prompt, new_ids),
        "min_router_topk_gap_greedy_path": greedy_router_gap(ref, fx, prompt, new_ids) if is_moe else None,
        "bf16_compute_max_abs_diff": bf16_diff,
    }
    if fx.name == "gemma3_text":
        check_gemma3_attn_softcap_is_ignored(folder, ids, logits)
    for label, mutate in fx.probes:
        stats["probe_" + label] = probe_change(fx, folder, ids, logits, mutate)
    for label, mutate in fx.weight_probes:
        stats["probe_" + label] = weight_probe_change(fx, folder, ids, logits, mutate)
    if is_moe:
        # transformers' default experts implementation (batched matmuls) against the eager loop
        grouped = load_reference(fx, folder, torch.float32, experts_implementation="grouped_mm")
        stats["grouped_mm_max_abs_diff"] = float((forward_logits(grouped, ids) - logits).abs().max())
        check_moe_statistics(fx, stats)
    return {k: v for k, v in stats.items() if v is not None}


def greedy_router_gap(model: torch.nn.Module, fx: Fixture, prompt: list[int], new_ids: list[int]) -> float:
    with moe_statistics(fx.config.swiglu_limit) as stats:
        forward_logits(model, prompt + new_ids)
    return stats["min_router_topk_gap"]


def check_moe_statistics(fx: Fixture, stats: dict) -> None:
    """The fixture must exercise the clamp on both sides and routing must not hang on a near tie."""
    for key in ("gate_above_limit", "up_above_limit", "up_below_minus_limit"):
        if stats[key] == 0:
            raise SystemExit(f"{fx.name}: no {key.replace('_', ' ')} values, the swiglu clamp is not exercised")
    for key in ("min_router_topk_gap", "min_router_topk_gap_greedy_path"):
        if stats[key] < 1e-2:
            raise SystemExit(f"{fx.name}: {key} {stats[key]:.3g}, expert choice is too close to a tie")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--only", nargs="*", default=None, help="fixture names to rebuild")
    args = ap.parse_args()

    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)  # identical float sums run to run
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    tok = train_tokenizer()
    args.out.mkdir(parents=True, exist_ok=True)
    for fx in fixtures():
        if args.only and fx.name not in args.only:
            continue
        stats = build(fx, tok, args.out)
        print(fx.name + ": " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                         for k, v in stats.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
