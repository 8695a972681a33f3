#include <QtTest>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "PdfDocument.h"

#include "../support/TestFiles.h"
#include "../support/TestPaths.h"

using namespace strata;
using namespace strata::testsupport;

namespace {

// A minimal PDF written by hand: Helvetica with WinAnsiEncoding (so byte 0xE9 is 'é'), one
// content stream per page with one line of text per entry, and no content stream at all for a
// page given no lines (what a scan without OCR looks like to a text extractor).
std::string escapePdfString(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '(' || c == ')' || c == '\\')
            out += '\\';
        out += c;
    }
    return out;
}

// streams[i] is page i's content stream; an empty one means the page has no /Contents.
std::string makePdfFromStreams(const std::vector<std::string>& pages) {
    std::vector<std::string> objects;  // objects[i] is object i + 1
    const int pageCount = int(pages.size());
    // 1 catalog, 2 page tree, 3 font, 4 info, then per page: page, then content when it has text.
    std::vector<int> pageIds;
    int next = 5;
    std::vector<int> contentIds;
    for (const auto& stream : pages) {
        pageIds.push_back(next++);
        contentIds.push_back(stream.empty() ? 0 : next++);
    }
    objects.resize(size_t(next - 1));
    objects[0] = "<< /Type /Catalog /Pages 2 0 R >>";
    std::string kids;
    for (int id : pageIds)
        kids += std::to_string(id) + " 0 R ";
    objects[1] = "<< /Type /Pages /Kids [" + kids + "] /Count " + std::to_string(pageCount) + " >>";
    objects[2] = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>";
    // Author "Jürgen" as UTF-16BE with a byte-order mark, the way PDF text strings carry Unicode.
    objects[3] = "<< /Title (Strata test document) /Author <FEFF004A00FC007200670065006E> "
                 "/Subject (Page text) /Creator (test_pdf_document) /Producer (hand-written) >>";
    for (size_t p = 0; p < pages.size(); ++p) {
        std::string page = "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                           "/Resources << /Font << /F1 3 0 R >> >>";
        if (contentIds[p] != 0)
            page += " /Contents " + std::to_string(contentIds[p]) + " 0 R";
        page += " >>";
        objects[size_t(pageIds[p] - 1)] = page;
        if (contentIds[p] != 0) {
            const std::string& stream = pages[p];
            objects[size_t(contentIds[p] - 1)] =
                "<< /Length " + std::to_string(stream.size()) + " >>\nstream\n" + stream + "endstream";
        }
    }
    std::string pdf = "%PDF-1.4\n%\xE2\xE3\xCF\xD3\n";
    std::vector<size_t> offsets;
    for (size_t i = 0; i < objects.size(); ++i) {
        offsets.push_back(pdf.size());
        pdf += std::to_string(i + 1) + " 0 obj\n" + objects[i] + "\nendobj\n";
    }
    const size_t xref = pdf.size();
    pdf += "xref\n0 " + std::to_string(objects.size() + 1) + "\n0000000000 65535 f \n";
    for (size_t offset : offsets) {
        char entry[32];
        std::snprintf(entry, sizeof entry, "%010zu 00000 n \n", offset);
        pdf += entry;
    }
    pdf += "trailer\n<< /Size " + std::to_string(objects.size() + 1) +
           " /Root 1 0 R /Info 4 0 R >>\nstartxref\n" + std::to_string(xref) + "\n%%EOF\n";
    return pdf;
}

// One line of text per entry, top down from the top left margin.
std::string makePdf(const std::vector<std::vector<std::string>>& pages) {
    std::vector<std::string> streams;
    for (const auto& lines : pages) {
        std::string stream;
        if (!lines.empty()) {
            stream = "BT /F1 12 Tf 72 720 Td 16 TL\n";
            for (const auto& line : lines)
                stream += "(" + escapePdfString(line) + ") Tj T*\n";
            stream += "ET\n";
        }
        streams.push_back(stream);
    }
    return makePdfFromStreams(streams);
}

const std::vector<std::vector<std::string>> kPages = {
    {"First page, first line.", "Second line (with parentheses)."},
    {"Caf\xE9 on page two."},
    {"Page three says hello."},
    {},
};

std::filesystem::path fixture(const char* name) {
    return testDataDir() / "pdf" / name;
}

}  // namespace

class TestPdfDocument : public QObject {
    Q_OBJECT

private slots:
    void textPerPageMetadataAndProgress() {
        QTemporaryDir dir;
        const auto path = writeFile(dir, "doc.pdf", makePdf(kPages));
        std::vector<std::pair<uint64_t, uint64_t>> calls;
        const auto doc = readPdf(path, {}, [&](uint64_t done, uint64_t total) {
            calls.emplace_back(done, total);
        });
        QVERIFY2(doc.ok(), doc.ok() ? "" : doc.error().message.c_str());
        QCOMPARE(doc->info.pageCount, int64_t(4));
        QCOMPARE(doc->info.title, std::string("Strata test document"));
        QCOMPARE(doc->info.author, std::string("J\xC3\xBCrgen"));
        QCOMPARE(doc->info.subject, std::string("Page text"));
        QCOMPARE(doc->info.creator, std::string("test_pdf_document"));
        QCOMPARE(doc->info.producer, std::string("hand-written"));
        QVERIFY(!doc->info.encrypted);

        QCOMPARE(doc->pages.size(), size_t(4));
        QCOMPARE(doc->pages[0].text, std::string("First page, first line.\nSecond line (with parentheses)."));
        QCOMPARE(doc->pages[1].text, std::string("Caf\xC3\xA9 on page two."));
        QCOMPARE(doc->pages[2].text, std::string("Page three says hello."));
        QCOMPARE(doc->pages[3].text, std::string());
        for (size_t i = 0; i < 4; ++i) {
            QCOMPARE(doc->pages[i].number, int64_t(i + 1));
            QCOMPARE(doc->pages[i].hasText, i < 3);
        }

        const std::vector<std::pair<uint64_t, uint64_t>> expected = {{1, 4}, {2, 4}, {3, 4}, {4, 4}};
        QCOMPARE(calls, expected);
    }

    void spansCarryPageAnchors() {
        QTemporaryDir dir;
        const auto path = writeFile(dir, "anchors.pdf", makePdf(kPages));
        const auto doc = readPdf(path);
        QVERIFY2(doc.ok(), doc.ok() ? "" : doc.error().message.c_str());
        const auto spans = doc->spans();
        QCOMPARE(spans.size(), size_t(3));  // the page without text gives no span
        for (size_t i = 0; i < spans.size(); ++i) {
            QCOMPARE(spans[i].anchor.file, path);
            QCOMPARE(spans[i].anchor.page, int64_t(i + 1));
            QCOMPARE(spans[i].anchor.firstLine, int64_t(0));
            QCOMPARE(spans[i].anchor.startSeconds, -1.0);
            QCOMPARE(spans[i].text, doc->pages[i].text);
        }
        QCOMPARE(describe(spans[2].anchor), std::string("anchors.pdf, page 3"));
    }

    void textComesInReadingOrderNotDrawingOrder() {
        // The content stream draws the bottom line first, then the top one.
        QTemporaryDir dir;
        const std::string stream = "BT /F1 12 Tf 72 600 Td (Drawn first, read second.) Tj ET\n"
                                   "BT /F1 12 Tf 72 616 Td (Drawn second, read first.) Tj ET\n";
        const auto doc = readPdf(writeFile(dir, "order.pdf", makePdfFromStreams({stream})));
        QVERIFY2(doc.ok(), doc.ok() ? "" : doc.error().message.c_str());
        QCOMPARE(doc->pages[0].text, std::string("Drawn second, read first.\nDrawn first, read second."));
    }

    void pagesWithoutTextAreReported() {
        QTemporaryDir dir;
        const auto path = writeFile(dir, "scan.pdf",
                                    makePdf({{"Cover text."}, {}, {"Middle."}, {}, {}}));
        const auto doc = readPdf(path);
        QVERIFY2(doc.ok(), doc.ok() ? "" : doc.error().message.c_str());
        QCOMPARE(doc->pagesWithoutText(), (std::vector<int64_t>{2, 4, 5}));
        QCOMPARE(doc->noTextSummary(),
                 std::string("scan.pdf: pages 2, 4, 5 have no text layer (scanned?): OCR is not available"));

        const auto one = readPdf(writeFile(dir, "one.pdf", makePdf({{"Text."}, {}})));
        QVERIFY(one.ok());
        QCOMPARE(one->noTextSummary(),
                 std::string("one.pdf: page 2 has no text layer (scanned?): OCR is not available"));

        const auto full = readPdf(writeFile(dir, "full.pdf", makePdf({{"Text."}})));
        QVERIFY(full.ok());
        QCOMPARE(full->noTextSummary(), std::string());
    }

    void emptyFileIsAnError() {
        QTemporaryDir dir;
        const auto path = writeFile(dir, "empty.pdf", "");
        const auto doc = readPdf(path);
        QVERIFY(!doc.ok());
        QCOMPARE(doc.error().kind, ErrorKind::BadInput);
        QVERIFY2(contains(doc.error().message, "empty.pdf"), doc.error().message.c_str());
        QVERIFY2(contains(doc.error().message, "empty"), doc.error().message.c_str());
    }

    void missingFileIsAnError() {
        const auto doc = readPdf("/nonexistent/strata/missing.pdf");
        QVERIFY(!doc.ok());
        QCOMPARE(doc.error().kind, ErrorKind::BadInput);
        QVERIFY2(contains(doc.error().message, "missing.pdf"), doc.error().message.c_str());
    }

    void randomBytesAreNotAPdf() {
        QTemporaryDir dir;
        std::mt19937 rng(6);
        std::string bytes(4096, '\0');
        for (char& c : bytes)
            c = char(rng() & 0xFF);
        const auto path = writeFile(dir, "noise.pdf", bytes);
        const auto doc = readPdf(path);
        QVERIFY(!doc.ok());
        QCOMPARE(doc.error().kind, ErrorKind::BadInput);
        QVERIFY2(contains(doc.error().message, "noise.pdf"), doc.error().message.c_str());
        QVERIFY2(contains(doc.error().message, "not a PDF"), doc.error().message.c_str());

        // A PDF header and end marker around noise gets past the quick checks to poppler itself.
        const auto framed = readPdf(writeFile(dir, "framed.pdf", "%PDF-1.4\n" + bytes + "\n%%EOF\n"));
        QVERIFY(!framed.ok());
        QCOMPARE(framed.error().kind, ErrorKind::BadInput);
        QVERIFY2(contains(framed.error().message, "framed.pdf"), framed.error().message.c_str());
    }

    void truncatedPdfIsAnError() {
        QTemporaryDir dir;
        const std::string pdf = makePdf(kPages);
        const auto path = writeFile(dir, "half.pdf", pdf.substr(0, pdf.size() / 2));
        const auto doc = readPdf(path);
        QVERIFY(!doc.ok());
        QCOMPARE(doc.error().kind, ErrorKind::BadInput);
        QVERIFY2(contains(doc.error().message, "half.pdf"), doc.error().message.c_str());
        QVERIFY2(contains(doc.error().message, "truncated"), doc.error().message.c_str());
    }

    void truncatedPdfWithEndMarkerDoesNotCrash() {
        // The xref table is gone, so poppler has to rebuild it from what is left; either outcome
        // is acceptable as long as it is a value, not a crash.
        QTemporaryDir dir;
        const std::string pdf = makePdf(kPages);
        const auto path = writeFile(dir, "cut.pdf", pdf.substr(0, pdf.size() / 2) + "\n%%EOF\n");
        const auto doc = readPdf(path);
        if (!doc.ok()) {
            QCOMPARE(doc.error().kind, ErrorKind::BadInput);
            QVERIFY2(contains(doc.error().message, "cut.pdf"), doc.error().message.c_str());
        }
    }

    void oversizedFileIsAnError() {
        QTemporaryDir dir;
        const auto path = writeFile(dir, "big.pdf", makePdf(kPages));
        const auto doc = readPdf(path, {}, {}, 100);
        QVERIFY(!doc.ok());
        QVERIFY2(contains(doc.error().message, "big.pdf"), doc.error().message.c_str());
        QVERIFY2(contains(doc.error().message, "limit"), doc.error().message.c_str());
    }

    void encryptedPdfNeedsItsPassword() {
        // Made by tests/tools/make_encrypted_pdf.py: user password "strata-user", owner password
        // "strata-owner", RC4 128-bit.
        const auto path = fixture("encrypted.pdf");
        if (!std::filesystem::exists(path))
            QSKIP("tests/data/pdf/encrypted.pdf is missing; run tests/tools/make_encrypted_pdf.py");

        const auto locked = readPdf(path);
        QVERIFY(!locked.ok());
        QCOMPARE(locked.error().kind, ErrorKind::BadInput);
        QVERIFY2(contains(locked.error().message, "encrypted.pdf"), locked.error().message.c_str());
        QVERIFY2(contains(locked.error().message, "--password"), locked.error().message.c_str());

        const auto wrong = readPdf(path, "not-the-password");
        QVERIFY(!wrong.ok());
        QVERIFY2(contains(wrong.error().message, "the password does not open"), wrong.error().message.c_str());

        for (const std::string password : {"strata-user", "strata-owner"}) {
            const auto doc = readPdf(path, password);
            QVERIFY2(doc.ok(), doc.ok() ? "" : doc.error().message.c_str());
            QVERIFY(doc->info.encrypted);
            QCOMPARE(doc->info.pageCount, int64_t(2));
            QCOMPARE(doc->pages[0].text, std::string("Encrypted first page."));
            QCOMPARE(doc->pages[1].text, std::string("Encrypted second page."));
        }
    }
};

QTEST_GUILESS_MAIN(TestPdfDocument)
#include "test_pdf_document.moc"
