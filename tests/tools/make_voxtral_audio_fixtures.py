#!/usr/bin/env python3
"""Writes tests/data/models/voxtral_audio: a tiny VoxtralForConditionalGeneration with random fp32
weights, seeded log-mel input features and transformers' audio encoder and projector outputs.

The audio tower is shrunk to max_source_positions 16, so one chunk is 128 mel bins x 32 frames
(a real checkpoint takes 3000 frames, 1500 positions). Two chunks are written to show that each is
encoded on its own and the results are concatenated.

Files: model.safetensors and config.json as save_pretrained writes them; features.f32
[chunks, num_mel_bins, frames]; encoder.f32 [chunks * frames / 2, d_model];
projected.f32 [chunks * frames / 8, text_hidden]; reference.json gives shapes.
"""
import json
import shutil
from pathlib import Path

import torch
import transformers

OUT = Path(__file__).resolve().parent.parent / "data" / "models" / "voxtral_audio"
SEED = 4041
CHUNKS = 2


def build() -> transformers.VoxtralForConditionalGeneration:
    audio = transformers.VoxtralEncoderConfig(
        hidden_size=32, intermediate_size=128, num_hidden_layers=2, num_attention_heads=2, num_mel_bins=128,
        max_source_positions=16, activation_function="gelu",
    )
    text = transformers.LlamaConfig(
        hidden_size=48, intermediate_size=96, num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
        head_dim=24, vocab_size=64, max_position_embeddings=128, pad_token_id=0, bos_token_id=1, eos_token_id=2,
    )
    config = transformers.VoxtralConfig(audio_config=audio.to_dict(), text_config=text.to_dict(),
                                        audio_token_id=5, projector_hidden_act="gelu")
    torch.manual_seed(SEED)
    model = transformers.VoxtralForConditionalGeneration(config)
    gen = torch.Generator().manual_seed(SEED)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters(), key=lambda kv: kv[0]):
            if p.dim() == 1 and name.endswith("weight") and "layer_norm" in name:
                p.copy_(1.0 + torch.randn(p.shape, generator=gen) * 0.1)  # LayerNorm gains near 1
            elif p.dim() == 1:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.1)
            elif "embed_positions" in name or "embed_tokens" in name:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.3)
            elif "conv1" in name:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.05)
            else:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.15)
    return model


def main() -> None:
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    build().save_pretrained(str(OUT), safe_serialization=True)
    (OUT / "generation_config.json").unlink(missing_ok=True)

    model = transformers.VoxtralForConditionalGeneration.from_pretrained(str(OUT), dtype=torch.float32,
                                                                         attn_implementation="eager")
    model.eval()
    audio = model.config.audio_config
    frames = audio.max_source_positions * 2
    gen = torch.Generator().manual_seed(SEED + 1)
    # Log-mel features as Whisper's extractor leaves them lie roughly in [-1, 1.5].
    features = torch.rand((CHUNKS, audio.num_mel_bins, frames), generator=gen) * 2.5 - 1.0
    with torch.no_grad():
        out = model.model.get_audio_features(features, return_dict=True)
        encoded = out.last_hidden_state.reshape(-1, audio.hidden_size)
        projected = out.pooler_output
    features.contiguous().numpy().astype("<f4").tofile(OUT / "features.f32")
    encoded.contiguous().numpy().astype("<f4").tofile(OUT / "encoder.f32")
    projected.contiguous().numpy().astype("<f4").tofile(OUT / "projected.f32")
    (OUT / "reference.json").write_text(json.dumps({
        "transformers": transformers.__version__,
        "features": list(features.shape),
        "encoder": list(encoded.shape),
        "projected": list(projected.shape),
    }, indent=2) + "\n")


if __name__ == "__main__":
    main()
