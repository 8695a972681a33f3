#!/usr/bin/env python3
"""Writes tests/data/models/gemma3_vision: a tiny Gemma3ForConditionalGeneration with random fp32
weights, a seeded pixel input and transformers' vision tower and projector outputs for it.

Files: model.safetensors as transformers 5 saves it ("vision_tower.*", "multi_modal_projector.*",
"language_model.model.*") with config.json; hub/ and prefixed/ hold the same weights under the
names of older checkpoints (see the end of main);
pixels.f32 (3 x 32 x 32 planar, in [-1, 1]); encoder.f32 [num_patches, vision_hidden];
projected.f32 [mm_tokens_per_image, text_hidden]; reference.json gives shapes.
"""
import json
import shutil
from pathlib import Path

import torch
import transformers
from safetensors.torch import load_file, save_file

OUT = Path(__file__).resolve().parent.parent / "data" / "models" / "gemma3_vision"
SEED = 3031


def build() -> transformers.Gemma3ForConditionalGeneration:
    vision = transformers.SiglipVisionConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, image_size=32,
        patch_size=4, vision_use_head=False, layer_norm_eps=1e-6, hidden_act="gelu_pytorch_tanh",
    )
    text = transformers.Gemma3TextConfig(
        hidden_size=48, intermediate_size=96, num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
        head_dim=24, vocab_size=64, max_position_embeddings=128, sliding_window=16,
        pad_token_id=0, bos_token_id=2, eos_token_id=1,
    )
    config = transformers.Gemma3Config(
        text_config=text.to_dict(), vision_config=vision.to_dict(), mm_tokens_per_image=16,
        boi_token_index=3, eoi_token_index=4, image_token_index=5,
    )
    torch.manual_seed(SEED)
    model = transformers.Gemma3ForConditionalGeneration(config)
    gen = torch.Generator().manual_seed(SEED)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters(), key=lambda kv: kv[0]):
            if p.dim() == 1 and name.endswith("weight") and "norm" in name and "mm_soft_emb_norm" not in name \
                    and "language_model" not in name:
                p.copy_(1.0 + torch.randn(p.shape, generator=gen) * 0.1)  # LayerNorm gains near 1
            elif p.dim() == 1:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.1)  # biases; Gemma (1 + w) norms
            elif "position_embedding" in name or "embed_tokens" in name:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.3)
            else:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.15)
    return model


def main() -> None:
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
