#!/usr/bin/env python3
"""Writes tests/data/models/voxtral_audio: a tiny VoxtralForConditionalGeneration with random fp32
weights and transformers' outputs for 45 s of audio, so that the audio encoder, the projector and
the whole model (audio tokens spliced into a Llama prompt) can be checked against it.

The audio tower has a real checkpoint's chunk size (max_source_positions 1500: 128 mel bins x 3000
frames per 30 s chunk, 375 audio tokens per chunk after the projector's groups of 4 frames) and is
tiny otherwise (width 32, MLP 128, 2 layers, 2 heads); the text side is a Llama of width 48, 2
layers, 2 query heads, 1 KV head, head_dim 24, vocabulary 64, 1024 positions; audio_token_id 5.

Input: tests/data/audio/tones_45s_16k_mono.flac (written by make_audio_fixtures.py), read with
soundfile, features computed as VoxtralProcessor._retrieve_input_features does with the
processor's default audio kwargs (one extractor pass over the audio zero-padded to 60 s, then
[2][128][3000]). The features themselves are not stored here: the reader's fixture
tests/data/audio/tones_45s_16k_mono_every31.f32 (and _edges.f32) covers them, and the C++ test
runs readAudioFeatures on the same file.

Files (all float32 little-endian, row-major):
  config.json, model.safetensors  as save_pretrained writes them (generation_config.json dropped)
  encoder.f32    the audio tower's output, flattened [chunks * 1500, 32], every 7th value
                 (indices 0, 7, 14, ...; "encoder_stride" in reference.json)
  projected.f32  the multimodal projector's output [750, 48], whole
  prompt.json    "input_ids": [1, 3, 6] + [5] * 750 + [10, 11, 12, 4] (BOS, an [INST]-like id, a
                 [BEGIN_AUDIO]-like id, the 750 audio tokens, text, an [/INST]-like id),
                 "audio_token_id": 5, "greedy_ids": the 8 ids model.generate adds greedily
                 (no end-of-sequence stop)
  logits.f32     [757, 64]: the logits at every position of one forward pass over input_ids with
                 the audio features
  reference.json shapes, versions, seeds, the audio file's name and the encoder stride

Runs in fp32 with attn_implementation="eager".
"""
import json
import shutil
import sys
from pathlib import Path

import soundfile as sf
import torch
import transformers

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_audio_fixtures import voxtral_features  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent / "data"
OUT = ROOT / "models" / "voxtral_audio"
AUDIO = "tones_45s_16k_mono.flac"
SEED = 4041
ENCODER_STRIDE = 7
AUDIO_TOKEN = 5
NEW_TOKENS = 8


def build() -> transformers.VoxtralForConditionalGeneration:
    audio = transformers.VoxtralEncoderConfig(
        hidden_size=32, intermediate_size=128, num_hidden_layers=2, num_attention_heads=2, num_mel_bins=128,
        max_source_positions=1500, activation_function="gelu",
    )
    text = transformers.LlamaConfig(
        hidden_size=48, intermediate_size=96, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1,
        head_dim=24, vocab_size=64, max_position_embeddings=1024, pad_token_id=0, bos_token_id=1, eos_token_id=2,
    )
    config = transformers.VoxtralConfig(audio_config=audio.to_dict(), text_config=text.to_dict(),
                                        audio_token_id=AUDIO_TOKEN, projector_hidden_act="gelu")
    torch.manual_seed(SEED)
    model = transformers.VoxtralForConditionalGeneration(config)
    gen = torch.Generator().manual_seed(SEED)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters(), key=lambda kv: kv[0]):
            if p.dim() == 1 and name.endswith("weight") and ("layer_norm" in name or "norm" in name):
                p.copy_(1.0 + torch.randn(p.shape, generator=gen) * 0.1)  # norm gains near 1
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
    audio_config = model.config.audio_config

    samples, rate = sf.read(str(ROOT / "audio" / AUDIO), dtype="float32")
    assert rate == 16000 and samples.ndim == 1
    extractor = transformers.WhisperFeatureExtractor(feature_size=audio_config.num_mel_bins)
    features = torch.from_numpy(voxtral_features(extractor, samples))
    chunks = features.shape[0]
    assert features.shape == (chunks, audio_config.num_mel_bins, audio_config.max_source_positions * 2)

    with torch.no_grad():
        out = model.model.get_audio_features(features, return_dict=True)
        encoded = out.last_hidden_state.reshape(-1, audio_config.hidden_size)
        projected = out.pooler_output
    audio_tokens = projected.shape[0]
    assert audio_tokens == chunks * audio_config.max_source_positions // 4

    input_ids = [1, 3, 6] + [AUDIO_TOKEN] * audio_tokens + [10, 11, 12, 4]
    ids = torch.tensor([input_ids])
    with torch.no_grad():
        logits = model(input_ids=ids, input_features=features).logits[0]
        generated = model.generate(ids, input_features=features, attention_mask=torch.ones_like(ids),
                                   max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS, do_sample=False,
                                   eos_token_id=None, pad_token_id=0)
    greedy = generated[0, len(input_ids):].tolist()
    assert len(greedy) == NEW_TOKENS
    # The first greedy id is the argmax of the last position's logits.
    assert greedy[0] == int(logits[-1].argmax())

    encoded.contiguous().reshape(-1)[::ENCODER_STRIDE].numpy().astype("<f4").tofile(OUT / "encoder.f32")
    projected.contiguous().numpy().astype("<f4").tofile(OUT / "projected.f32")
    logits.contiguous().numpy().astype("<f4").tofile(OUT / "logits.f32")
    (OUT / "prompt.json").write_text(json.dumps({
        "input_ids": input_ids,
        "audio_token_id": AUDIO_TOKEN,
        "greedy_ids": greedy,
    }) + "\n")
    (OUT / "reference.json").write_text(json.dumps({
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "audio": AUDIO,
        "seed": SEED,
        "features": list(features.shape),
        "encoder": list(encoded.shape),
        "encoder_stride": ENCODER_STRIDE,
        "projected": list(projected.shape),
        "logits": list(logits.shape),
        "attn_implementation": "eager",
        "dtype": "float32",
    }, indent=2) + "\n")


if __name__ == "__main__":
    main()
