#!/usr/bin/env python3
"""Writes tests/data/pdf/encrypted.pdf for test_pdf_document: two pages of Helvetica text,
encrypted with RC4 128-bit, user password "strata-user", owner password "strata-owner".

Needs pypdf (pip install pypdf). The plain PDF is written by hand so the fixture's text is known
exactly; pypdf only adds the encryption.
"""
import io
import pathlib

from pypdf import PdfReader, PdfWriter

from hand_pdf import pdf_file

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
    return pdf_file(objects)


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
