#!/usr/bin/env python3
"""Writes the audio reader's fixtures to tests/data/audio/: small audio files and the Whisper log-mel
features transformers' WhisperFeatureExtractor(feature_size=128) computes for them.

Needs numpy, torch, transformers, soundfile and soxr (pip). Features are [128][3000] float32 per
chunk, too big to keep whole, so each *_every13.f32 holds the flattened chunk's values at indices
0, 13, 26, ... and each *_first2.f32 the first two frames of every bin ([128][2]), little-endian.

tones_45s_16k_mono.flac is 45 s of tone bursts and digital silence, two chunks. Its reference is
what transformers' VoxtralProcessor feeds the model (_retrieve_input_features with the processor's
default audio kwargs: padding=True, truncation=False, pad_to_multiple_of=480000): one extractor
pass over the whole signal zero-padded to 60 s, reshaped to [chunks][128][3000]. So frames near
the 30 s boundary see both chunks' samples, and the max - 8 floor is the maximum over both chunks.
Note that the extractor's own defaults (truncation=True, max_length=480000) would cut the audio at
30 s; for audio of at most 30 s both give the same [1][128][3000]. Stored:
  tones_45s_16k_mono_every31.f32  the flattened [2][128][3000] at indices 0, 31, 62, ...
  tones_45s_16k_mono_edges.f32    [128][24]: per bin, chunk 0 frames 0-1 (the start's reflection),
                                  chunk 0 frames 2990-2999 and chunk 1 frames 0-9 (the boundary),
                                  chunk 1 frames 2998-2999 (the end's reflection).
"""
import os

import numpy as np
import soundfile as sf
import soxr
from transformers import WhisperFeatureExtractor
from transformers.models.voxtral.processing_voxtral import VoxtralProcessor

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "audio")


def chirp(seconds, rate, f0, f1, phase=0.0):
    t = np.arange(int(round(seconds * rate))) / rate
    k = (f1 - f0) / seconds
    return np.sin(2 * np.pi * (f0 * t + 0.5 * k * t * t) + phase)


def features(extractor, mono16k):
    out = extractor(mono16k.astype(np.float32), sampling_rate=16000, return_tensors="np")
    return out["input_features"][0].astype(np.float32)  # [128][3000]


def voxtral_features(extractor, mono16k):
    """[chunks][128][3000] as VoxtralProcessor computes them, with the processor's default audio
    kwargs (its __init__ needs a Mistral tokenizer, which the audio path does not use)."""
    processor = object.__new__(VoxtralProcessor)
    processor.feature_extractor = extractor
    kwargs = dict(VoxtralProcessor.audio_kwargs)
    frames = kwargs.pop("max_source_positions")
    feats = processor._retrieve_input_features([mono16k.astype(np.float32)], frames, **kwargs)
    return feats.numpy().astype(np.float32)


def tone_bursts(seconds, rate):
    """Tone bursts (raised-cosine edges) between stretches of silence; one burst spans the 30 s
    boundary, and the loudest one lies in the second chunk, so the shared floor differs from
    either chunk's own."""
    out = np.zeros(int(seconds * rate))
    t = np.arange(out.size) / rate

    def burst(start, length, f0, f1, amp):
        i0, n = int(start * rate), int(length * rate)
        tt = t[:n]
        k = (f1 - f0) / length
        x = amp * np.sin(2 * np.pi * (f0 * tt + 0.5 * k * tt * tt))
        edge = min(n // 2, int(0.02 * rate))
        ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(edge) / edge)
        x[:edge] *= ramp
        x[n - edge:] *= ramp[::-1]
        out[i0:i0 + n] += x

    for i, start in enumerate(np.arange(0.5, 44.0, 2.5)):
        f = 150.0 * (1.35 ** (i % 12))
        burst(start, 0.6, f, f, 0.2)
    burst(29.7, 0.6, 300.0, 3000.0, 0.3)  # across the chunk boundary
    burst(38.0, 0.4, 880.0, 880.0, 0.7)   # the loudest
    burst(44.85, 0.15, 500.0, 500.0, 0.3)  # up to the very end
    return out


def save_features(name, feats):
    assert feats.shape == (128, 3000)
    feats.reshape(-1)[::13].astype("<f4").tofile(os.path.join(OUT, name + "_every13.f32"))
    np.ascontiguousarray(feats[:, :2]).astype("<f4").tofile(os.path.join(OUT, name + "_first2.f32"))


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(7)
    extractor = WhisperFeatureExtractor(feature_size=128)

    # 1 s, 16 kHz mono FLAC: no resampling, so the features must match closely.
    mono = 0.4 * chirp(1.0, 16000, 100, 6000) + 0.05 * rng.standard_normal(16000)
    path = os.path.join(OUT, "chirp_16k_mono.flac")
    sf.write(path, mono, 16000, subtype="PCM_16")
    decoded, _ = sf.read(path, dtype="float32")  # the 16-bit samples exactly as libsndfile gives them
    save_features("chirp_16k_mono", features(extractor, decoded))

    # 45 s, 16 kHz mono FLAC: two chunks, compared with VoxtralProcessor's features.
    path = os.path.join(OUT, "tones_45s_16k_mono.flac")
    sf.write(path, tone_bursts(45.0, 16000), 16000, subtype="PCM_16")
    decoded, _ = sf.read(path, dtype="float32")
    assert decoded.size == 45 * 16000
    feats = voxtral_features(extractor, decoded)
    assert feats.shape == (2, 128, 3000), feats.shape
    # The plain extractor call with padding to 30 s gives the same features for a single chunk.
    short = decoded[:16000 * 20]
    assert np.array_equal(voxtral_features(extractor, short)[0], features(extractor, short))
    feats.reshape(-1)[::31].astype("<f4").tofile(os.path.join(OUT, "tones_45s_16k_mono_every31.f32"))
    edges = np.concatenate([feats[0, :, 0:2], feats[0, :, 2990:3000], feats[1, :, 0:10], feats[1, :, 2998:3000]],
                           axis=1)
    assert edges.shape == (128, 24)
    np.ascontiguousarray(edges).astype("<f4").tofile(os.path.join(OUT, "tones_45s_16k_mono_edges.f32"))

    # 1.5 s, 44.1 kHz stereo 16-bit WAV (265 KB): the reference resamples the channel mean with
    # python-soxr at its default "HQ" quality, the same library and setting as the reader.
    left = 0.3 * chirp(1.5, 44100, 200, 7000)
    right = 0.3 * chirp(1.5, 44100, 300, 5000, phase=1.0)
    path = os.path.join(OUT, "chirp_44k_stereo.wav")
    sf.write(path, np.stack([left, right], axis=1), 44100, subtype="PCM_16")
    decoded, _ = sf.read(path, dtype="float32")
    mono44 = decoded.astype(np.float64).mean(axis=1).astype(np.float32)
    mono16 = soxr.resample(mono44, 44100, 16000, quality="HQ")
    save_features("chirp_44k_stereo", features(extractor, mono16))

    # 1 s, 16 kHz mono OGG/Vorbis: lossy, so only its shape and duration are checked.
    sf.write(os.path.join(OUT, "tone_16k_mono.ogg"), 0.3 * chirp(1.0, 16000, 440, 440), 16000,
             format="OGG", subtype="VORBIS")

    # The same tone as MP3 (libsndfile >= 1.1 reads MPEG audio through mpg123), when this soundfile
    # can write it.
    try:
        sf.write(os.path.join(OUT, "tone_16k_mono.mp3"), 0.3 * chirp(1.0, 16000, 440, 440), 16000,
                 format="MP3", subtype="MPEG_LAYER_III")
    except Exception as e:  # noqa: BLE001 - older libsndfile builds lack MPEG
        print("no MP3 fixture:", e)


if __name__ == "__main__":
    main()
