#!/usr/bin/env python3
"""Writes the GGML dequantisation fixtures that tests/format/test_gguf_dequant.cpp checks Strata's
dequantizeGgml against, with gguf-py's gguf.quants.dequantize as the reference.

For every type Strata supports it makes one [4, 512] tensor (row-major, 2048 elements):
  - F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0: random normal data put through
    gguf.quants.quantize (F32 and F16 by numpy casts), with special values in the float types
    (signed zeros, subnormals, the largest finite values, infinities);
  - Q2_K, Q3_K, Q4_K, Q5_K, Q6_K (gguf-py cannot quantise them): random raw blocks whose fp16
    scale fields hold finite, modest values.
In the quantised types the first blocks are edge cases: every fp16 field zero, only the scale zero
(the min or a subnormal scale left), negative fp16 fields with all quant and scale bits set, and
the largest fp16 scale with all quant bits clear.

Outputs (all little-endian):
  tests/data/gguf/quants/<TYPE>.blocks  raw block bytes, exactly as stored in a GGUF file
  tests/data/gguf/quants/<TYPE>.f32     float32 values from gguf.quants.dequantize
  tests/data/gguf/quants/manifest.json  per type: name, ggml type id, shape, element count, files
  tests/data/gguf/quant_types.gguf      GGUF v3, architecture "strata-test", one tensor
                                        "quant.<TYPE>" of shape [4, 512] per type, same bytes

Usage: python3 tests/tools/make_gguf_quant_fixtures.py [tests/data/gguf]
The output is deterministic (fixed seed); rerunning it rewrites identical files.
"""
import json
import pathlib
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.constants import GGML_QUANT_SIZES

ROWS, COLS = 4, 512
SEED = 20240611

# Byte offsets of the fp16 fields, the quant bytes and the sub-block scale bytes inside one block
# (ggml-common.h block structs).
LAYOUT = {
    T.Q4_0: dict(halves=[0], quants=(2, 18), scales=None),
    T.Q4_1: dict(halves=[0, 2], quants=(4, 20), scales=None),
    T.Q5_0: dict(halves=[0], quants=(2, 22), scales=None),
    T.Q5_1: dict(halves=[0, 2], quants=(4, 24), scales=None),
    T.Q8_0: dict(halves=[0], quants=(2, 34), scales=None),
    T.Q2_K: dict(halves=[80, 82], quants=(16, 80), scales=(0, 16)),
    T.Q3_K: dict(halves=[108], quants=(0, 96), scales=(96, 108)),
    T.Q4_K: dict(halves=[0, 2], quants=(16, 144), scales=(4, 16)),
    T.Q5_K: dict(halves=[0, 2], quants=(16, 176), scales=(4, 16)),
    T.Q6_K: dict(halves=[208], quants=(0, 192), scales=(192, 208)),
}
QUANTIZABLE = [T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0]
K_QUANTS = [T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K]
ORDER = [T.F32, T.F16, T.BF16] + QUANTIZABLE + K_QUANTS


def half_bytes(value):
    return np.array([value], dtype=np.float16).view(np.uint8)


def set_half(block, offset, value):
    block[offset:offset + 2] = half_bytes(value)


def get_half(block, offset):
    return float(block[offset:offset + 2].view(np.float16)[0])


def add_edge_blocks(qtype, blocks):
    """Overwrites the first four blocks of a (n_blocks, block_bytes) uint8 array in place."""
    lay = LAYOUT[qtype]
    q0, q1 = lay["quants"]
    halves = lay["halves"]
    # 0: every fp16 field zero (scale and min).
    for off in halves:
        set_half(blocks[0], off, 0.0)
    # 1: scale zero but the min kept; a subnormal scale where the type has no min.
    if len(halves) > 1:
        set_half(blocks[1], halves[0], 0.0)
        set_half(blocks[1], halves[1], -0.75)
    else:
        blocks[1, halves[0]:halves[0] + 2] = np.array([1, 0], dtype=np.uint8)  # 2^-24
    # 2: negative fp16 fields, every quant and sub-scale bit set.
    for off in halves:
        set_half(blocks[2], off, -abs(get_half(blocks[2], off)) or -0.01)
    blocks[2, q0:q1] = 0xFF
    if lay["scales"]:
        s0, s1 = lay["scales"]
        blocks[2, s0:s1] = 0xFF
        if qtype == T.Q6_K:  # signed scales: both ends of int8
            blocks[2, s0:s1] = np.tile(np.array([0x80, 0x7F], dtype=np.uint8), (s1 - s0) // 2)
    # 3: the largest finite fp16 scale with every quant bit clear.
    set_half(blocks[3], halves[0], 65504.0)
    blocks[3, q0:q1] = 0x00


def random_k_blocks(rng, qtype, n_blocks):
    _, type_size = GGML_QUANT_SIZES[qtype]
    blocks = rng.integers(0, 256, size=(n_blocks, type_size), dtype=np.uint8)
    for off in LAYOUT[qtype]["halves"]:
        # Magnitudes like those of real checkpoints' super-block scales, both signs.
        values = (rng.standard_normal(n_blocks) * 0.02).astype(np.float16)
        blocks[:, off:off + 2] = values.reshape(-1, 1).view(np.uint8)
    return blocks


def make_blocks(rng, qtype):
    """Returns the raw bytes as a (ROWS, bytes_per_row) uint8 array."""
    block_size, type_size = GGML_QUANT_SIZES[qtype]
    data = (rng.standard_normal((ROWS, COLS)) * np.array([[0.02], [1.0], [7.5], [300.0]])).astype(np.float32)
    if qtype == T.F32:
        data[0, :8] = [0.0, -0.0, 1e-45, -1.2e-38, np.finfo(np.float32).max, -np.inf, np.inf, 1e-30]
        return data.view(np.uint8).reshape(ROWS, -1)
    if qtype == T.F16:
        half = data.astype(np.float16)
        half[0, :8] = [0.0, -0.0, 6e-8, -3e-5, 65504.0, -65504.0, np.inf, -np.inf]
        return half.view(np.uint8).reshape(ROWS, -1)
    if qtype == T.BF16:
        data[0, :6] = [0.0, -0.0, 1e-40, -3e38, np.inf, -np.inf]
        return gguf.quants.quantize(data, qtype).reshape(ROWS, -1)
    n_blocks = ROWS * COLS // block_size
    if qtype in QUANTIZABLE:
        blocks = gguf.quants.quantize(data, qtype).reshape(n_blocks, type_size).copy()
    else:
        blocks = random_k_blocks(rng, qtype, n_blocks)
    add_edge_blocks(qtype, blocks)
    return blocks.reshape(ROWS, -1)


def main():
    out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parents[1] / "data" / "gguf")
    quant_dir = out / "quants"
    quant_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)

    writer = gguf.GGUFWriter(out / "quant_types.gguf", "strata-test")
    manifest = {"rows": ROWS, "cols": COLS, "types": []}
    for qtype in ORDER:
        raw = make_blocks(rng, qtype)
        expected = gguf.quants.dequantize(raw, qtype).astype(np.float32, copy=False)
        assert expected.dtype == np.float32 and expected.shape == (ROWS, COLS), qtype.name
        name = qtype.name
        (quant_dir / f"{name}.blocks").write_bytes(raw.tobytes())
        (quant_dir / f"{name}.f32").write_bytes(expected.astype("<f4").tobytes())
        block_size, type_size = GGML_QUANT_SIZES[qtype]
        manifest["types"].append({
            "name": name, "id": int(qtype.value), "shape": [ROWS, COLS], "elements": ROWS * COLS,
            "block_elements": block_size, "block_bytes": type_size,
            "blocks": f"{name}.blocks", "expected": f"{name}.f32",
        })
        writer.add_tensor(f"quant.{name}", raw, raw_dtype=qtype)
    (quant_dir / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


if __name__ == "__main__":
    main()
