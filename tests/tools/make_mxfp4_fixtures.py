#!/usr/bin/env python3
"""Writes the MXFP4 fixtures that tests/format/test_mxfp4.cpp checks Strata's dequantisation
against, in both layouts:

  - Hugging Face (gpt-oss `*_blocks` / `*_scales`): reference is transformers'
    convert_moe_packed_tensors (float32; the script checks that its default bfloat16 output holds
    the same values), with its final transpose undone so rows stay [expert, row, column].
  - GGUF (ggml type 39, 17-byte blocks): reference is gguf-py's gguf.quants.dequantize.

The first 256 groups take every scale byte 0..255 in order, and each of their 16 bytes holds a
different low nibble and a different high nibble, so every nibble meets every scale (including the
subnormal 2^-127 and the overflow at 255). 64 more groups are random, with scales near those of
real checkpoints (2^-10 .. 2^3).

Outputs in tests/data/mxfp4/ (little-endian): hf_blocks.u8 [2, 4, 40, 16], hf_scales.u8 [2, 4, 40],
hf_values.f32 [2, 4, 1280]; gguf_blocks.u8 (320 blocks of 17 bytes), gguf_values.f32 [10240];
reference.json with shapes and versions. Deterministic (fixed seed).

Usage: python3 tests/tools/make_mxfp4_fixtures.py [--out DIR]
"""
import argparse
import json
import pathlib

import numpy as np
import torch
import transformers
import gguf
from transformers.integrations.mxfp4 import convert_moe_packed_tensors

SEED = 20261207
EXPERTS, ROWS, GROUPS = 2, 4, 40  # 320 groups: 256 edge groups, 64 random ones


def groups_and_scales(rng):
    n = EXPERTS * ROWS * GROUPS
    nibble_bytes = np.array([j | ((15 - j) << 4) for j in range(16)], dtype=np.uint8)
    blocks = np.empty((n, 16), dtype=np.uint8)
    scales = np.empty(n, dtype=np.uint8)
    blocks[:256] = nibble_bytes
    scales[:256] = np.arange(256, dtype=np.uint8)
    blocks[256:] = rng.integers(0, 256, size=(n - 256, 16), dtype=np.uint8)
    scales[256:] = rng.integers(117, 131, size=n - 256, dtype=np.uint8)
    return blocks, scales


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(pathlib.Path(__file__).resolve().parents[1] / "data" / "mxfp4"))
    out = pathlib.Path(ap.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    blocks, scales = groups_and_scales(rng)

    # Hugging Face layout.
    hf_blocks = torch.from_numpy(blocks.reshape(EXPERTS, ROWS, GROUPS, 16).copy())
    hf_scales = torch.from_numpy(scales.reshape(EXPERTS, ROWS, GROUPS).copy())
    f32 = convert_moe_packed_tensors(hf_blocks, hf_scales, dtype=torch.float32)  # [E, cols, rows]
    bf16 = convert_moe_packed_tensors(hf_blocks, hf_scales)
    assert torch.equal(bf16.float(), f32), "bfloat16 and float32 dequantisation disagree"
    hf_values = f32.transpose(1, 2).contiguous().numpy()  # [E, rows, cols]
    assert hf_values.shape == (EXPERTS, ROWS, GROUPS * 32)

    # GGUF layout: scale byte, then 16 bytes with element j low and j + 16 high.
    gguf_blocks = np.concatenate([scales.reshape(-1, 1), blocks], axis=1)
    with np.errstate(over="ignore"):  # scale 255 times 12 overflows, as in ggml
        gguf_values = gguf.quants.dequantize(gguf_blocks.reshape(-1), gguf.GGMLQuantizationType.MXFP4)
    gguf_values = gguf_values.astype(np.float32)
    assert gguf_values.size == blocks.shape[0] * 32

    blocks.tofile(out / "hf_blocks.u8")
    scales.tofile(out / "hf_scales.u8")
    hf_values.astype("<f4").tofile(out / "hf_values.f32")
    gguf_blocks.tofile(out / "gguf_blocks.u8")
    gguf_values.astype("<f4").tofile(out / "gguf_values.f32")
    (out / "reference.json").write_text(json.dumps({
        "hf_blocks_shape": [EXPERTS, ROWS, GROUPS, 16], "hf_scales_shape": [EXPERTS, ROWS, GROUPS],
        "hf_values_shape": [EXPERTS, ROWS, GROUPS * 32], "gguf_blocks": int(blocks.shape[0]),
        "edge_groups": 256, "seed": SEED, "transformers_version": transformers.__version__,
        "torch_version": torch.__version__.split("+")[0],
    }, indent=1) + "\n")
    # The two layouts hold the same numbers (up to the sign of zero) in another element order.
    hf_groups, gguf_groups = hf_values.reshape(-1, 32), gguf_values.reshape(-1, 32)
    assert np.array_equal(hf_groups[:, 0::2], gguf_groups[:, :16]) and np.array_equal(hf_groups[:, 1::2], gguf_groups[:, 16:])
    print(f"groups {blocks.shape[0]}; infinite values: hf {int((~np.isfinite(hf_values)).sum())}, "
          f"gguf {int((~np.isfinite(gguf_values)).sum())}; negative zeros: hf "
          f"{int(((hf_values == 0) & np.signbit(hf_values)).sum())}, gguf "
          f"{int(((gguf_values == 0) & np.signbit(gguf_values)).sum())}; the layouts agree up to the sign of zero")

if __name__ == "__main__":
    main()
