"""Serialises a PDF written by hand: numbered objects, the cross-reference table and the trailer.

objects[i] is object i + 1, as a str (written in Latin-1) or bytes (a stream's binary data);
object 1 must be the catalog. Used by the fixture scripts whose PDFs must carry known text only.
"""

HEADER = b"%PDF-1.4\n"
# A comment of bytes above 127 after the header tells readers the file holds binary data.
BINARY_HEADER = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"


def pdf_file(objects, header=HEADER):
    out = bytearray(header)
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        body = body if isinstance(body, bytes) else body.encode("latin-1")
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
