#!/usr/bin/env python3
"""Writes tests/data/ocr/ for test_ingest_ocr: scanned pages whose text is known exactly.

  scan.pdf    two pages without a text layer: each a 1-bit picture of a paragraph (PAGES below)
              rendered at 300 dpi in DejaVu Sans 11 pt, as a scanner's black-and-white mode makes
              them, on a page of 6 x 3.5 inches.
  mixed.pdf   page 1 with a text layer (Helvetica, TEXT_LAYER below), page 2 scanned (PAGES[0]).
  photo.png   a 1-bit picture of PHOTO_TEXT, as an image file (the OCR path of images).
  texts.json  the texts above, for the test to measure word accuracy against.

The PDFs are written by hand (the pictures as Flate-compressed 1-bit image XObjects) so that
nothing but the picture carries the text. Needs Pillow (pip install pillow) and the DejaVu fonts
(Debian: fonts-dejavu-core).

Usage: python3 tests/tools/make_ocr_fixtures.py [output_dir]
"""
import json
import pathlib
import sys
import textwrap
import zlib

from PIL import Image, ImageDraw, ImageFont

from hand_pdf import BINARY_HEADER, pdf_file

DPI = 300
PAGE_INCHES = (6.0, 3.5)
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
FONT_POINTS = 11

PAGES = [
    "Strata reads scanned pages with optical character recognition. Each page without a text "
    "layer is rendered at three hundred dots per inch and handed to Tesseract, which returns the "
    "words it recognises together with a confidence for every word. The analyst sees that "
    "confidence beside each cited source.",
    "The second page of this scan talks about invoices and shipping. Order number 4711 left the "
    "warehouse in Hamburg on Tuesday morning and reached the customer two days later. The driver "
    "signed the delivery note at noon, and the payment arrived before the end of the month.",
]
TEXT_LAYER = "This first page has a real text layer and needs no OCR at all."
PHOTO_TEXT = "Meeting notes: the backup server restarts every night at two o'clock."


def render(text, size_inches, wrap=58):
    """Black text on white, 1 bit per pixel, at DPI."""
    width, height = int(size_inches[0] * DPI), int(size_inches[1] * DPI)
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, round(FONT_POINTS * DPI / 72))
    margin = DPI // 3
    line_height = round(FONT_POINTS * 1.5 * DPI / 72)
    for n, line in enumerate(textwrap.wrap(text, wrap)):
        draw.text((margin, margin + n * line_height), line, font=font, fill=0)
    return image.point(lambda v: 255 if v >= 128 else 0).convert("1")


def pdf(pages):
    """pages: a list of ("text", str) or ("image", PIL 1-bit image); each page 6 x 3.5 inches."""
    width_pt, height_pt = PAGE_INCHES[0] * 72, PAGE_INCHES[1] * 72
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", None,
               "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"]
    kids = []
    for kind, content in pages:
        if kind == "text":
            stream = f"BT /F1 11 Tf 24 200 Td ({content}) Tj ET\n".encode("latin-1")
            resources = "/Font << /F1 3 0 R >>"
        else:
            # PDF DeviceGray 1-bit: 0 is black, 1 white, as in Pillow's mode "1".
            data = zlib.compress(content.tobytes(), 9)
            objects.append(f"<< /Type /XObject /Subtype /Image /Width {content.width} /Height {content.height} "
                           f"/ColorSpace /DeviceGray /BitsPerComponent 1 /Filter /FlateDecode /Length {len(data)} >>")
            objects[-1] = (objects[-1].encode() + b"\nstream\n" + data + b"\nendstream")
            image_id = len(objects)
            stream = f"q {width_pt:.0f} 0 0 {height_pt:.0f} 0 0 cm /Im1 Do Q\n".encode()
            resources = f"/XObject << /Im1 {image_id} 0 R >>"
        objects.append(f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"endstream")
        content_id = len(objects)
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width_pt:.0f} {height_pt:.0f}] "
                       f"/Resources << {resources} >> /Contents {content_id} 0 R >>")
        kids.append(f"{len(objects)} 0 R")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(pages)} >>"
    return pdf_file(objects, BINARY_HEADER)


def main():
    out = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else pathlib.Path(__file__).parent.parent / "data" / "ocr"
    out.mkdir(parents=True, exist_ok=True)
    scans = [render(text, PAGE_INCHES) for text in PAGES]
    (out / "scan.pdf").write_bytes(pdf([("image", page) for page in scans]))
    (out / "mixed.pdf").write_bytes(pdf([("text", TEXT_LAYER), ("image", scans[0])]))
    render(PHOTO_TEXT, (5.0, 1.2), wrap=50).save(out / "photo.png", optimize=True)
    (out / "texts.json").write_text(json.dumps({"pages": PAGES, "text_layer": TEXT_LAYER, "photo": PHOTO_TEXT},
                                               indent=1) + "\n")
    for name in ("scan.pdf", "mixed.pdf", "photo.png", "texts.json"):
        print(f"{name}: {(out / name).stat().st_size} bytes")


if __name__ == "__main__":
    main()
