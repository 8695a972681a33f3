#!/usr/bin/env python3
"""Writes tests/data/models/gemma3_vision: a tiny Gemma3ForConditionalGeneration with random fp32
weights, seeded pixel inputs, transformers' vision tower and projector outputs, and whole-model
references with images in the prompt.

    python3 tests/tools/make_gemma3_vision_fixtures.py     # ~10 s on one CPU core, deterministic

Model: SigLIP of 32-pixel images, 4-pixel patches, hidden 32, 2 layers, 2 heads; 16 image tokens
(mm_tokens_per_image); Gemma 3 text side of hidden 48, 2 layers with layer_types
["sliding_attention", "full_attention"], sliding_window 8 (smaller than the 16 image tokens on
purpose), 2 query heads / 1 KV head, head_dim 24, vocab 64; bos 2, boi 3, eoi 4, image token 5.

Files: model.safetensors as transformers 5 saves it ("vision_tower.*", "multi_modal_projector.*",
"language_model.model.*") with config.json; hub/ and prefixed/ hold the same weights under the
names of older checkpoints (see the end of main);
pixels.f32 and pixels_b.f32 (3 x 32 x 32 planar, in [-1, 1], seeds SEED + 1 and SEED + 2);
encoder.f32 [num_patches, vision_hidden] and projected.f32 [mm_tokens_per_image, text_hidden] for
pixels.f32; reference.json gives their shapes.

Whole-model cases, run with attn_implementation="eager" in fp32 and
token_type_ids = (input_ids == 5), so each image's 16 tokens attend to each other bidirectionally:
  one_image:  [2, 10, 11, 3] + [5] * 16 + [4, 12, 13, 14], images pixels.f32
  two_images: [2, 10, 3] + [5] * 16 + [4, 11, 3] + [5] * 16 + [4, 12, 13], images pixels.f32 then
              pixels_b.f32 (the first run of 5s takes the first image)
<case>.json: {"input_ids", "image_token_id": 5, "images": [pixel files in order], "logits_file",
"logits_shape", "greedy_ids": 8 ids from generate(do_sample=False, eos_token_id=None, cached)};
<case>_logits.f32: [len, 64] little-endian float32, the logits at every position of one forward pass
without a cache. The script checks that the cached greedy ids equal the argmax continuation
computed without a cache (new tokens are text, token type 0), and prints how far the logits move
when the masks are built with one detail wrong. The masks transformers 5.23 builds (q = query
position, k = key position, block = both in the same run of image tokens):
  full layer:    k <= q  or  block
  sliding layer: k > q - 8  and  (k <= q  or  block)
so in the sliding layer an image token sees every later token of its own image but only the 7
tokens before it.
"""
import json
import shutil
from pathlib import Path

import torch
import transformers
from safetensors.torch import load_file, save_file

OUT = Path(__file__).resolve().parent.parent / "data" / "models" / "gemma3_vision"
SEED = 3031
TEXT_SEED = 7  # picked from seeds 0-15: varied greedy ids that depend on the image, top-1/top-2 gap >= 0.1
SLIDING_WINDOW = 8  # smaller than the 16 image tokens on purpose
IMAGE_TOKEN = 5
NEW_TOKENS = 8

# Whole-model cases: token ids (2 = bos, 3 = begin-of-image, 4 = end-of-image, 5 = image token; the
# rest are arbitrary text ids) and the pixel files whose embeddings replace the image tokens, in order.
CASES = {
    "one_image": ([2, 10, 11, 3] + [IMAGE_TOKEN] * 16 + [4, 12, 13, 14], ["pixels.f32"]),
    "two_images": ([2, 10, 3] + [IMAGE_TOKEN] * 16 + [4, 11, 3] + [IMAGE_TOKEN] * 16 + [4, 12, 13],
                   ["pixels.f32", "pixels_b.f32"]),
}


def text_init(name: str, shape: torch.Size, gen: torch.Generator) -> torch.Tensor:
    """Text-side weights, chosen so that greedy decoding neither repeats one token nor ignores the
    image: a small embedding (tied, so a large one makes every position predict its own token),
    q_norm / k_norm gains of about 3 (q and k are RMS-normalised, so only these gains make the
    attention sharper than nearly uniform), post-sublayer norm gains of about 2 and a final-norm gain
    of about 2.5 (all Gemma norms are used as 1 + w)."""
    noise = torch.randn(shape, generator=gen)
    if "embed_tokens" in name:
        return noise * 0.08
    if name.endswith("language_model.norm.weight"):
        return 1.5 + noise * 0.25
    if "q_norm" in name or "k_norm" in name:
        return 2.0 + noise * 0.1
    if "post_attention_layernorm" in name or "post_feedforward_layernorm" in name:
        return 1.0 + noise * 0.1
    if len(shape) == 1:
        return noise * 0.1
    return noise * 0.2


def build(text_seed: int = TEXT_SEED) -> transformers.Gemma3ForConditionalGeneration:
    vision = transformers.SiglipVisionConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, image_size=32,
        patch_size=4, vision_use_head=False, layer_norm_eps=1e-6, hidden_act="gelu_pytorch_tanh",
    )
    text = transformers.Gemma3TextConfig(
        hidden_size=48, intermediate_size=96, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1,
        head_dim=24, vocab_size=64, max_position_embeddings=128, sliding_window=SLIDING_WINDOW,
        layer_types=["sliding_attention", "full_attention"],
        pad_token_id=0, bos_token_id=2, eos_token_id=1,
    )
    assert text.layer_types == ["sliding_attention", "full_attention"], text.layer_types
    config = transformers.Gemma3Config(
        text_config=text.to_dict(), vision_config=vision.to_dict(), mm_tokens_per_image=16,
        boi_token_index=3, eoi_token_index=4, image_token_index=5,
    )
    torch.manual_seed(SEED)
    model = transformers.Gemma3ForConditionalGeneration(config)
    gen = torch.Generator().manual_seed(SEED)
    text_gen = torch.Generator().manual_seed(text_seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters(), key=lambda kv: kv[0]):
            if "language_model" in name:
                p.copy_(text_init(name, p.shape, text_gen))
            elif p.dim() == 1 and name.endswith("weight") and "norm" in name and "mm_soft_emb_norm" not in name:
                p.copy_(1.0 + torch.randn(p.shape, generator=gen) * 0.1)  # LayerNorm gains near 1
            elif p.dim() == 1:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.1)  # biases; Gemma (1 + w) norm
            elif "position_embedding" in name:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.3)
            else:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.15)
    return model


def forward_logits(model, input_ids: torch.Tensor, pixel_values: torch.Tensor, bidirectional: bool = True):
    token_types = (input_ids == IMAGE_TOKEN).long() if bidirectional else None
    with torch.no_grad():
        out = model(input_ids=input_ids, pixel_values=pixel_values, token_type_ids=token_types,
                    attention_mask=torch.ones_like(input_ids), use_cache=False)
    return out.logits[0]


def greedy(model, input_ids: torch.Tensor, pixel_values: torch.Tensor) -> list[int]:
    with torch.no_grad():
        out = model.generate(input_ids, pixel_values=pixel_values,
                             token_type_ids=(input_ids == IMAGE_TOKEN).long(),
                             attention_mask=torch.ones_like(input_ids), max_new_tokens=NEW_TOKENS,
                             min_new_tokens=NEW_TOKENS, do_sample=False, eos_token_id=None, pad_token_id=0,
                             use_cache=True)
    new_ids = out[0, input_ids.shape[1]:].tolist()
    assert len(new_ids) == NEW_TOKENS, new_ids
    return new_ids


def mask_probes(model, input_ids: torch.Tensor, pixel_values: torch.Tensor, logits: torch.Tensor) -> None:
    """Max |logit change| when the attention masks are built with one detail wrong, so a parity test
    catches each of these mistakes."""
    n = input_ids.shape[1]
    q = torch.arange(n)[:, None]
    k = torch.arange(n)[None, :]
    groups = torch.cumsum((input_ids[0] == IMAGE_TOKEN) & (input_ids[0].roll(1) != IMAGE_TOKEN), 0)
    groups = torch.where(input_ids[0] == IMAGE_TOKEN, groups, -1)
    block = (groups[:, None] == groups[None, :]) & (groups[:, None] >= 0)
    causal = k <= q
    window = k > q - SLIDING_WINDOW
    want_full, want_sliding = causal | block, window & (causal | block)

    def run(full: torch.Tensor, sliding: torch.Tensor) -> torch.Tensor:
        additive = lambda m: torch.where(m, 0.0, torch.finfo(torch.float32).min)[None, None]
        with torch.no_grad():
            return model(input_ids=input_ids, pixel_values=pixel_values, use_cache=False, attention_mask={
                "full_attention": additive(full), "sliding_attention": additive(sliding)}).logits[0]

    assert torch.equal(run(want_full, want_sliding), logits), "the masks above are not transformers' masks"
    for what, full, sliding in (
            ("sliding layer: whole image block visible (window not applied inside it)", want_full,
             (window & causal) | block),
            ("sliding layer: plain sliding causal (no bidirectional block)", want_full, window & causal),
            ("full layer: plain causal (no bidirectional block)", causal, want_sliding),
            ("no sliding window at all", want_full, want_full)):
        print(f"  {what}: max |logit diff| {(run(full, sliding) - logits).abs().max():.4f}")


def write_case(model, name: str, ids: list[int], files: list[str], pixel_values: torch.Tensor) -> None:
    input_ids = torch.tensor([ids])
    assert int((input_ids == IMAGE_TOKEN).sum()) == 16 * len(files)
    logits = forward_logits(model, input_ids, pixel_values)
    logits.contiguous().numpy().astype("<f4").tofile(OUT / f"{name}_logits.f32")
    new_ids = greedy(model, input_ids, pixel_values)

    # The cached generate must equal the argmax continuation computed without a cache (the new tokens
    # are text, token type 0), so the reference does not depend on the sliding-window cache.
    seq = input_ids
    path_margin = float("inf")
    for _ in range(NEW_TOKENS):
        last = forward_logits(model, seq, pixel_values)[-1]
        top = last.topk(2).values
        path_margin = min(path_margin, float(top[0] - top[1]))
        seq = torch.cat([seq, last.argmax().view(1, 1)], dim=1)
    assert seq[0, input_ids.shape[1]:].tolist() == new_ids, (seq, new_ids)

    top2 = logits.topk(2, dim=-1).values
    margins = (top2[:, 0] - top2[:, 1])
    causal = forward_logits(model, input_ids, pixel_values, bidirectional=False)
    other = greedy(model, input_ids, torch.rand(pixel_values.shape, generator=torch.Generator().manual_seed(7)) * 2 - 1)
    print(f"{name}: {len(ids)} tokens, max |logit| {logits.abs().max():.3f}, min margin {margins.min():.4f}, "
          f"greedy {new_ids}, min margin on the greedy path {path_margin:.4f}")
    print(f"  plain causal mask instead of bidirectional image blocks: max |logit diff| "
          f"{(causal - logits).abs().max():.4f} (last position {(causal[-1] - logits[-1]).abs().max():.4f})")
    print(f"  greedy with other pixels: {other}")
    mask_probes(model, input_ids, pixel_values, logits)
    (OUT / f"{name}.json").write_text(json.dumps({
        "input_ids": ids,
        "image_token_id": IMAGE_TOKEN,
        "images": files,
        "logits_file": f"{name}_logits.f32",
        "logits_shape": list(logits.shape),
        "greedy_ids": new_ids,
    }, indent=1) + "\n")


def main() -> None:
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    build().save_pretrained(str(OUT), safe_serialization=True)
    for extra in ("generation_config.json",):
        (OUT / extra).unlink(missing_ok=True)

    # References come from the checkpoint as saved, reloaded as transformers would load it.
    model = transformers.Gemma3ForConditionalGeneration.from_pretrained(str(OUT), dtype=torch.float32,
                                                                         attn_implementation="eager")
    model.eval()
    gen = torch.Generator().manual_seed(SEED + 1)
    pixels = torch.rand((1, 3, 32, 32), generator=gen) * 2.0 - 1.0
    with torch.no_grad():
        encoded = model.model.vision_tower(pixel_values=pixels).last_hidden_state
        projected = model.model.multi_modal_projector(encoded)
    pixels[0].contiguous().numpy().astype("<f4").tofile(OUT / "pixels.f32")
    encoded[0].contiguous().numpy().astype("<f4").tofile(OUT / "encoder.f32")
    projected[0].contiguous().numpy().astype("<f4").tofile(OUT / "projected.f32")
    (OUT / "reference.json").write_text(json.dumps({
        "transformers": transformers.__version__,
        "pixels": list(pixels.shape[1:]),
        "encoder": list(encoded.shape[1:]),
        "projected": list(projected.shape[1:]),
    }, indent=2) + "\n")

    pixels_b = torch.rand((1, 3, 32, 32), generator=torch.Generator().manual_seed(SEED + 2)) * 2.0 - 1.0
    pixels_b[0].contiguous().numpy().astype("<f4").tofile(OUT / "pixels_b.f32")
    images = {"pixels.f32": pixels, "pixels_b.f32": pixels_b}
    for name, (ids, files) in CASES.items():
        write_case(model, name, ids, files, torch.cat([images[f] for f in files]))

    # The same weights under the other names checkpoints use: Hugging Face hub files written by
    # transformers 4 ("vision_tower.vision_model.*"), and the in-memory names of transformers
    # 4.5x, which some tools save ("model.vision_tower.vision_model.*").
    tensors = load_file(str(OUT / "model.safetensors"))
    for folder, top in (("hub", ""), ("prefixed", "model.")):
        renamed = {}
        for name, t in tensors.items():
            if name.startswith("vision_tower."):
                renamed[top + "vision_tower.vision_model." + name[len("vision_tower."):]] = t
            elif name.startswith("multi_modal_projector."):
                renamed[top + name] = t
            elif name.startswith("language_model.model.") and top:
                renamed["model.language_model." + name[len("language_model.model."):]] = t
            else:
                renamed[name] = t
        (OUT / folder).mkdir()
        save_file(renamed, str(OUT / folder / "model.safetensors"), metadata={"format": "pt"})
        shutil.copy(OUT / "config.json", OUT / folder / "config.json")

if __name__ == "__main__":
    main()
