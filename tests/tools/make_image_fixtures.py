#!/usr/bin/env python3
"""Writes tests/data/images/: a few small images and the Gemma 3 pixel values transformers computes
for them, so that Strata's ImageDocument can be checked against the reference preprocessing.

Images: a PNG gradient (640x480, upscaled to 896), a JPEG stored 1280x960 with EXIF orientation 6
(displayed 960x1280, downscaled), a 24-bit BMP (200x150) and a two-frame GIF (320x240; only the
first frame counts), a PNG checkerboard over gradients (1800x1000, downscaled), a greyscale JPEG
(300x200) and a CMYK JPEG (240x320). Each is loaded the way transformers loads a file (load_image: EXIF transpose,
convert to RGB) and run through Gemma3ImageProcessorPil built from the gemma-3 preprocessor config
(896x896, bilinear, rescale 1/255, mean and std 0.5, no pan and scan).

The full pixel values (3x896x896 floats, 9.6 MB each) are too large to keep, so <name>.f32 holds
every STRIDE-th value of the flattened CHW array (little-endian float32), STRIDE below.

Usage: python3 tests/tools/make_image_fixtures.py [output_dir]
Needs numpy, Pillow and transformers; no network access.
"""
import pathlib
import sys

import numpy as np
from PIL import Image
from transformers.image_utils import load_image
from transformers.models.gemma3.image_processing_pil_gemma3 import Gemma3ImageProcessorPil

STRIDE = 97


def pattern(width, height, seed):
    """Gradients, rings and a bright off-centre square: smooth enough to compress, asymmetric so a
    wrong rotation or flip shows."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    r = x / (width - 1) * 255
    g = y / (height - 1) * 255
    b = 127.5 + 127.5 * np.sin(np.hypot(x - width * 0.3, y - height * 0.4) / (7 + seed))
    img = np.stack([r, g, b], axis=-1)
    img[height // 8: height // 4, width // 8: width // 3] = [255, 240, 10]
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


def write_images(out):
    Image.fromarray(pattern(640, 480, 0)).save(out / "gradient.png")

    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(pattern(1280, 960, 1)).save(out / "rotated6.jpg", quality=92, exif=exif.tobytes())

    Image.fromarray(pattern(200, 150, 2)).save(out / "small.bmp")

    first = Image.fromarray(pattern(320, 240, 3)).quantize(colors=64, dither=Image.Dither.NONE)
    second = Image.fromarray(255 - pattern(320, 240, 3)).quantize(colors=64, dither=Image.Dither.NONE)
    first.save(out / "frames.gif", save_all=True, append_images=[second], duration=100, loop=0)
    # Lossless and larger than 896 in both directions, unequal scales: the antialiasing filter's
    # wide support is checked without JPEG decoder differences in the way.
    y, x = np.mgrid[0:1000, 0:1800]
    checker = np.stack([x * 255 // 1799, y * 255 // 999, ((x // 37 + y // 37) % 2) * 200 + 20], axis=-1)
    Image.fromarray(checker.astype(np.uint8)).save(out / "checker.png", optimize=True)
    # JPEGs that PIL reads as L and as CMYK (Adobe-inverted) before its convert("RGB").
    Image.fromarray(pattern(300, 200, 4)[..., 1]).save(out / "grey.jpg", quality=90)
    cmyk = np.concatenate([pattern(240, 320, 5), pattern(240, 320, 6)[..., :1] // 2], axis=-1)
    Image.fromarray(cmyk, "CMYK").save(out / "cmyk.jpg", quality=90)
    return ["gradient.png", "rotated6.jpg", "small.bmp", "frames.gif", "checker.png", "grey.jpg",
            "cmyk.jpg"]


def main():
    out = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else \
        pathlib.Path(__file__).resolve().parents[1] / "data" / "images"
    out.mkdir(parents=True, exist_ok=True)
    processor = Gemma3ImageProcessorPil(
        size={"height": 896, "width": 896}, resample=2, do_rescale=True, rescale_factor=1 / 255,
        do_normalize=True, image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5],
        do_convert_rgb=True, do_pan_and_scan=False)
    for name in write_images(out):
        image = load_image(str(out / name))
        values = processor(images=image, return_tensors="np")["pixel_values"][0]
        assert values.shape == (3, 896, 896), values.shape
        sample = np.ascontiguousarray(values.astype("<f4").reshape(-1)[::STRIDE])
        sample.tofile(out / (name + ".f32"))
        print(f"{name}: {image.size[0]}x{image.size[1]}, {sample.size} values kept")


if __name__ == "__main__":
    main()
