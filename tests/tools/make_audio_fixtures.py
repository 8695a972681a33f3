#!/usr/bin/env python3
"""Writes the audio reader's fixtures to tests/data/audio/: small audio files and the Whisper log-mel
features transformers' WhisperFeatureExtractor(feature_size=128) computes for them.

Needs numpy, transformers, soundfile and soxr (pip). Features are [128][3000] float32 per chunk,
too big to keep whole, so each *_every13.f32 holds the flattened chunk's values at indices
0, 13, 26, ... and each *_first2.f32 the first two frames of every bin ([128][2]), little-endian.
"""
import os

import numpy as np
import soundfile as sf
import soxr
from transformers import WhisperFeatureExtractor

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "audio")


def chirp(seconds, rate, f0, f1, phase=0.0):
    t = np.arange(int(round(seconds * rate))) / rate
    k = (f1 - f0) / seconds
    return np.sin(2 * np.pi * (f0 * t + 0.5 * k * t * t) + phase)


def features(extractor, mono16k):
    out = extractor(mono16k.astype(np.float32), sampling_rate=16000, return_tensors="np")
    return out["input_features"][0].astype(np.float32)  # [128][3000]


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
