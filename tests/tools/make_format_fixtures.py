#!/usr/bin/env python3
"""Writes tests/data/formats/ for test_ingest_formats: one small file of each format the format
detector names and the readers read or refuse.

  pattern.webp, pattern.tif, pattern.heic, pattern.avif   a 48x32 picture (Pillow for WebP and
          TIFF, libheif's heif-enc for HEIC and AVIF); pattern.png is the same picture, lossless,
          for comparing the decoded pixels; animated.webp shows it, then its negative.
  tone.m4a    one second of a 440 Hz tone, AAC in MP4 (ffmpeg), which Strata refuses.
  tone.opus   the same as Ogg Opus (ffmpeg with libopus), which libsndfile reads.
  app.log     120 lines of a made-up service log, and the same compressed as app.log.gz,
              app.log.xz, app.log.zst and app.log.bz2, each written as two streams one after the
              other (the way log rotation and parallel compressors leave them), so that the
              reader's handling of concatenated members is exercised.
  logs.tar.gz a tar archive of app.log, gzip-compressed.
  bundle.zip  app.log and a note in a ZIP archive.
  report.docx the smallest Word document layout (a ZIP with word/document.xml).
  small.pdf.gz  a one-page PDF, gzip-compressed (refused by name: decompress it first).
  noise.bin.xz  bytes of no known format, xz-compressed.

Needs Pillow (pip install pillow), and ffmpeg, libheif-examples and zstd (apt-get install).

Usage: python3 tests/tools/make_format_fixtures.py [output_dir]
"""
import bz2
import gzip
import io
import lzma
import pathlib
import subprocess
import sys
import tarfile
import zipfile

from PIL import Image

LEVELS = ["INFO", "WARN", "INFO", "DEBUG", "ERROR"]
SERVICES = ["api", "db", "cache", "worker"]


def log_text():
    lines = []
    for n in range(120):
        level = LEVELS[(n * 7) % len(LEVELS)]
        service = SERVICES[(n * 3) % len(SERVICES)]
        lines.append(f"2024-05-{1 + n // 40:02d}T10:{n % 60:02d}:{(n * 13) % 60:02d}Z {level:5} {service}: "
                     f"request {1000 + n} took {(n * 37) % 500} ms")
    return "\n".join(lines) + "\n"


def pattern():
    image = Image.new("RGB", (48, 32))
    for y in range(32):
        for x in range(48):
            image.putpixel((x, y), (x * 5, y * 7, 255 - x * 3) if (x // 8 + y // 8) % 2 else (240, 220, 30))
    return image


def halves(data):
    cut = data.index(b"\n", len(data) // 2) + 1
    return data[:cut], data[cut:]


def run(*command):
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main():
    out = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else pathlib.Path(__file__).parent.parent / "data" / "formats"
    out.mkdir(parents=True, exist_ok=True)

    picture = pattern()
    picture.save(out / "pattern.png")
    picture.save(out / "pattern.webp", lossless=True)
    second = Image.eval(picture, lambda v: 255 - v)
    picture.save(out / "animated.webp", save_all=True, append_images=[second], duration=200, loop=0, lossless=True)
    picture.save(out / "pattern.tif", compression="tiff_deflate")
    run("heif-enc", "-q", "60", "-o", str(out / "pattern.heic"), str(out / "pattern.png"))
    run("heif-enc", "-A", "-q", "60", "-o", str(out / "pattern.avif"), str(out / "pattern.png"))

    tone = ["ffmpeg", "-y", "-loglevel", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=1",
            "-ar", "16000", "-ac", "1", "-map_metadata", "-1", "-fflags", "+bitexact"]
    run(*tone, "-c:a", "aac", "-b:a", "16k", str(out / "tone.m4a"))
    run(*tone, "-c:a", "libopus", "-b:a", "12k", str(out / "tone.opus"))

    text = log_text().encode()
    (out / "app.log").write_bytes(text)
    first, second = halves(text)
    (out / "app.log.gz").write_bytes(gzip.compress(first, mtime=0) + gzip.compress(second, mtime=0))
    (out / "app.log.xz").write_bytes(lzma.compress(first) + lzma.compress(second))
    (out / "app.log.bz2").write_bytes(bz2.compress(first) + bz2.compress(second))
    zstd = b""
    for part in (first, second):
        zstd += subprocess.run(["zstd", "-q", "-c", "-19"], input=part, check=True, stdout=subprocess.PIPE).stdout
    (out / "app.log.zst").write_bytes(zstd)

    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        info = tarfile.TarInfo("app.log")
        info.size, info.mtime = len(text), 0
        archive.addfile(info, io.BytesIO(text))
    (out / "logs.tar.gz").write_bytes(gzip.compress(tar.getvalue(), mtime=0))

    stamp = (2024, 5, 1, 0, 0, 0)

    def entry(name):
        info = zipfile.ZipInfo(name, stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        return info

    with zipfile.ZipFile(out / "bundle.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(entry("app.log"), text)
        archive.writestr(entry("note.txt"), "See app.log.\n")
    with zipfile.ZipFile(out / "report.docx", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(entry("[Content_Types].xml"),
                         '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                         'content-types"/>')
        archive.writestr(entry("word/document.xml"),
                         '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
                         'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>Hello</w:t></w:r></w:p></w:body>'
                         '</w:document>')

    page = b"BT /F1 12 Tf 72 720 Td (Compressed PDF.) Tj ET\n"
    small_pdf = (b"%%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
                 b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
                 b"3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >> endobj\n"
                 b"4 0 obj << /Length %d >> stream\n%sendstream endobj\ntrailer << /Root 1 0 R >>\n%%%%EOF\n"
                 % (len(page), page))
    (out / "small.pdf.gz").write_bytes(gzip.compress(small_pdf, mtime=0))
    (out / "noise.bin.xz").write_bytes(lzma.compress(bytes((n * 97 + 13) % 256 for n in range(2000))))

    for path in sorted(out.iterdir()):
        print(f"{path.name}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
