#!/usr/bin/env python3
"""Writes tests/data/pdf/encrypted.pdf for test_pdf_document: two pages of Helvetica text,
encrypted with RC4 128-bit, user password "strata-user", owner password "strata-owner".

Needs pypdf (pip install pypdf). The plain PDF is written by hand so the fixture's text is known
exactly; pypdf only adds the encryption.
"""
import io
import pathlib

from pypdf import PdfReader, PdfWriter

PAGES = ["Encrypted first page.", "Encrypted second page."]


def plain_pdf(pages):
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", None,
               "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"]
    kids = []
    for text in pages:
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET\n"
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}endstream")
        content_id = len(objects)
        objects.append("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                       f"/Resources << /Font << /F1 3 0 R >> >> /Contents {content_id} 0 R >>")
        kids.append(f"{len(objects)} 0 R")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(pages)} >>"
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n"
            f"startxref\n{xref}\n%%EOF\n").encode()
    return bytes(out)


def main():
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(plain_pdf(PAGES))))
    writer.encrypt(user_password="strata-user", owner_password="strata-owner", algorithm="RC4-128")
    target = pathlib.Path(__file__).resolve().parent.parent / "data" / "pdf" / "encrypted.pdf"
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as f:
        writer.write(f)
    print(f"wrote {target} ({target.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
