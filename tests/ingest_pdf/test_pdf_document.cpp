#include <QtTest>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "../support/HandWrittenPdf.h"
#include "PdfDocument.h"

#include "../support/TestFiles.h"
#include "../support/TestPaths.h"

using namespace strata;
using namespace strata::testsupport;

namespace {

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
                 std::string("scan.pdf: pages 2, 4, 5 yield no text, even with OCR (blank, or too faint or small "
                             "to read?)"));

        const auto one = readPdf(writeFile(dir, "one.pdf", makePdf({{"Text."}, {}})));
        QVERIFY(one.ok());
        QCOMPARE(one->noTextSummary(),
                 std::string("one.pdf: page 2 yields no text, even with OCR (blank, or too faint or small to read?)"));

        const auto full = readPdf(writeFile(dir, "full.pdf", makePdf({{"Text."}})));
        QVERIFY(full.ok());
        QCOMPARE(full->noTextSummary(), std::string());
    }

    void pagesThatTroubleTheRendererAreValuesNotCrashes() {
        // Pages without a text layer are rendered for OCR. Their content here is damaged in ways
        // that trouble a renderer: an empty or absurd page box, operators that are garbage, and
        // an image that claims four trillion pixels but holds two bytes (poppler would spend
        // hours on it). Each read ends as a value: the text of the other page, or an error that
        // names the file and the page.
        const std::string hugeImage = "q 612 0 0 792 0 0 cm BI /W 2000000 /H 2000000 /BPC 8 /CS /G ID \x01\x02 EI Q\n";
        const std::string garbage = "1 0 0 RG 5 w 0 0 m 1e30 1e30 l S q q q Q Q Q Q Q Q /X Do (a) ' BT ET ET ET\n";
        const std::vector<std::pair<std::string, std::string>> pages = {
            {"[0 0 0 0]", ""},           {"[0 0 1e30 1e30]", ""}, {"[0 0 -5 nan]", ""},
            {"[0 0 612 792]", garbage}, {"[0 0 612 792]", hugeImage},
        };
        PdfReadOptions options;
        options.ocrRenderLimit = std::chrono::seconds(3);
        QTemporaryDir dir;
        for (const auto& [box, content] : pages) {
            std::string pdf = makePdfFromStreams({"BT /F1 12 Tf 72 720 Td (Cover.) Tj ET\n", content});
            const std::string normalBox = "/MediaBox [0 0 612 792]";
            pdf.replace(pdf.rfind(normalBox), normalBox.size(), "/MediaBox " + box);
            // The cross-reference offsets may be off now; poppler rebuilds the table.
            const auto doc = readPdf(writeFile(dir, "trouble.pdf", pdf), options);
            qInfo("%s, %zu bytes of content: %s", box.c_str(), content.size(),
                  doc.ok() ? ("read; " + doc->noTextSummary()).c_str() : doc.error().message.c_str());
            if (doc.ok()) {
                QCOMPARE(doc->pages[0].text, std::string("Cover."));
            } else {
                QCOMPARE(doc.error().kind, ErrorKind::BadInput);
                QVERIFY2(contains(doc.error().message, "trouble.pdf: page 2"), doc.error().message.c_str());
            }
        }
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
