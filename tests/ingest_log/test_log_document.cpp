#include <QtTest>

#include <filesystem>
#include <fstream>
#include <vector>

#include "LogDocument.h"

#include "../support/TestFiles.h"

using namespace strata;
using namespace strata::testsupport;

namespace {

struct Read {
    Result<LogSummary> summary = internalError("not read");
    std::vector<TextSpan> spans;
    std::string text() const {
        std::string all;
        for (const TextSpan& s : spans)
            all += s.text;
        return all;
    }
};

Read read(const std::filesystem::path& path, LogReadOptions options = {}) {
    Read r;
    r.summary = readLogDocument(
        path,
        [&](TextSpan&& span) {
            r.spans.push_back(std::move(span));
            return Status{};
        },
        options);
    return r;
}

std::string utf16(const std::u16string& s, bool bigEndian) {
    std::string out;
    for (char16_t c : s) {
        const char hi = char(c >> 8), lo = char(c & 0xFF);
        out += bigEndian ? hi : lo;
        out += bigEndian ? lo : hi;
    }
    return out;
}

}  // namespace

class TestLogDocument : public QObject {
    Q_OBJECT

private slots:
    void crlfAndLoneCrBecomeLf() {
        QTemporaryDir dir;
        const auto path = writeFile(dir, "a.log", "one\r\ntwo\rthree\r\n\r\nfive");
        const Read r = read(path);
        QVERIFY2(r.summary.ok(), r.summary.ok() ? "" : r.summary.error().message.c_str());
        QCOMPARE(r.text(), std::string("one\ntwo\nthree\n\nfive\n"));
        QCOMPARE(r.summary->lines, uint64_t(5));
        QCOMPARE(r.summary->encoding, std::string("UTF-8"));
        QCOMPARE(r.spans.size(), size_t(1));
        QCOMPARE(r.spans[0].anchor.firstLine, int64_t(1));
        QCOMPARE(r.spans[0].anchor.lastLine, int64_t(5));
    }

    void crlfSplitAcrossBlocks() {
        QTemporaryDir dir;
        std::string body;
        for (int i = 0; i < 100; ++i)
            body += "line " + std::to_string(i) + "\r\n";
        const auto path = writeFile(dir, "b.log", body);
        LogReadOptions options;
        options.blockBytes = 64;  // puts many CR LF pairs across block ends
        const Read r = read(path, options);
        QVERIFY(r.summary.ok());
        std::string expected;
        for (int i = 0; i < 100; ++i)
            expected += "line " + std::to_string(i) + "\n";
        QCOMPARE(r.text(), expected);
        QCOMPARE(r.summary->lines, uint64_t(100));
    }

    void utf16LittleEndianWithBom() {
        QTemporaryDir dir;
        const auto path = writeFile(
            dir, "le.log", "\xFF\xFE" + utf16(u"caf\u00E9 \u4E16\r\n\U0001F600 ok\n", false));
        LogReadOptions options;
        options.blockBytes = 65;  // odd: code units and the surrogate pair cross block ends
        const Read r = read(path, options);
        QVERIFY2(r.summary.ok(), r.summary.ok() ? "" : r.summary.error().message.c_str());
        QCOMPARE(r.summary->encoding, std::string("UTF-16LE"));
        QVERIFY(r.summary->byteOrderMark);
        QCOMPARE(r.text(), std::string("caf\u00E9 \u4E16\n\U0001F600 ok\n"));
        QCOMPARE(r.summary->lines, uint64_t(2));
    }

    void utf16BigEndianWithBom() {
        QTemporaryDir dir;
        const auto path = writeFile(dir, "be.log", "\xFE\xFF" + utf16(u"Gr\u00FC\u00DFe\nzwei\n", true));
        const Read r = read(path);
        QVERIFY(r.summary.ok());
        QCOMPARE(r.summary->encoding, std::string("UTF-16BE"));
        QCOMPARE(r.text(), std::string("Gr\u00FC\u00DFe\nzwei\n"));
    }

    void utf32LittleEndianWithBom() {
        QTemporaryDir dir;
        std::string body("\xFF\xFE\x00\x00", 4);
        for (char32_t c : std::u32string(U"a\u00E9\U0001F600\n"))
            for (int k = 0; k < 4; ++k)
                body += char((c >> (8 * k)) & 0xFF);
        const auto path = writeFile(dir, "u32.log", body);
        const Read r = read(path);
        QVERIFY(r.summary.ok());
        QCOMPARE(r.summary->encoding, std::string("UTF-32LE"));
        QCOMPARE(r.text(), std::string("a\u00E9\U0001F600\n"));
    }

    void latin1BecomesUtf8() {
        QTemporaryDir dir;
        // French prose so that uchardet has something to go on.
        std::string body =
            "Le caf\xE9 \xE9tait ferm\xE9 ce matin; nous sommes all\xE9s \xE0 la gare.\n"
            "L'\xE9t\xE9 dernier, la f\xEAte a dur\xE9 jusqu'\xE0 minuit \xE0 c\xF4t\xE9 du "
            "th\xE9\xE2tre.\n";
        const auto path = writeFile(dir, "latin1.log", body + body + body);
        const Read r = read(path);
        QVERIFY(r.summary.ok());
        QVERIFY2(r.summary->encoding == "ISO-8859-1" || r.summary->encoding == "WINDOWS-1252",
                 r.summary->encoding.c_str());
        QVERIFY(r.text().find("Le caf\u00E9 \u00E9tait ferm\u00E9") == 0);
        QVERIFY(r.text().find("c\u00F4t\u00E9 du th\u00E9\u00E2tre") != std::string::npos);
        QCOMPARE(r.summary->replacedSequences, uint64_t(0));
    }

    void utf8WithBom() {
        QTemporaryDir dir;
        const auto path = writeFile(dir, "bom.log", "\xEF\xBB\xBF\u4E16\u754C\nsecond\n");
        const Read r = read(path);
        QVERIFY(r.summary.ok());
        QCOMPARE(r.summary->encoding, std::string("UTF-8"));
        QVERIFY(r.summary->byteOrderMark);
        QCOMPARE(r.text(), std::string("\u4E16\u754C\nsecond\n"));
    }

    void utf8CharacterAcrossBlocks() {
        QTemporaryDir dir;
        std::string body;
        for (int i = 0; i < 50; ++i)
            body += "\u00E9\u4E16\U0001F600\n";
        const auto path = writeFile(dir, "multi.log", body);
        for (size_t block : {64, 65, 66, 67}) {
            LogReadOptions options;
            options.blockBytes = block;
            const Read r = read(path, options);
            QVERIFY(r.summary.ok());
            QCOMPARE(r.text(), body);
            QCOMPARE(r.summary->replacedSequences, uint64_t(0));
        }
    }

    void binaryLogRefused() {
        QTemporaryDir dir;
        std::string body = "header text\n";
        body += std::string("\x7F" "ELF\x02\x01\x01\x00\x00\x00", 10);
        const auto path = writeFile(dir, "core.log", body);
        const Read r = read(path);
        QVERIFY(!r.summary.ok());
        QCOMPARE(r.summary.error().kind, ErrorKind::BadInput);
        const std::string expected = path.string() + " looks binary (NUL bytes at offset 19); not ingested";
        QCOMPARE(r.summary.error().message, expected);
        QVERIFY(r.spans.empty());
    }

    void controlCharactersRefused() {
        QTemporaryDir dir;
        std::string body;
        for (int i = 0; i < 100; ++i)
            body += char(1 + i % 8);
        const auto path = writeFile(dir, "noise.log", body);
        const Read r = read(path);
        QVERIFY(!r.summary.ok());
        QVERIFY(r.summary.error().message.find("looks binary") != std::string::npos);
    }

    void emptyFileGivesNoSpans() {
        QTemporaryDir dir;
        const auto path = writeFile(dir, "empty.log", "");
        const Read r = read(path);
        QVERIFY(r.summary.ok());
        QVERIFY(r.spans.empty());
        QCOMPARE(r.summary->lines, uint64_t(0));
        QCOMPARE(r.summary->bytes, uint64_t(0));
        QCOMPARE(r.summary->encoding, std::string());
    }

    void missingFileNamed() {
        const Read r = read("/nonexistent/strata.log");
        QVERIFY(!r.summary.ok());
        QVERIFY(r.summary.error().message.find("/nonexistent/strata.log") != std::string::npos);
    }

    void lineAnchorsExactAcrossChunks() {
        QTemporaryDir dir;
        std::string body;
        for (int i = 1; i <= 1000; ++i)
            body += "entry " + std::to_string(i) + (i % 7 == 0 ? std::string(150, 'x') : "") + "\n";
        const auto path = writeFile(dir, "anchors.log", body);
        LogReadOptions options;
        options.blockBytes = 100;
        options.maxSpanLines = 13;
        options.maxSpanBytes = 300;
        uint64_t lastProgress = 0;
        options.progress = [&](uint64_t done, uint64_t total) {
            QVERIFY(done >= lastProgress);
            QCOMPARE(total, uint64_t(body.size()));
            lastProgress = done;
        };
        const Read r = read(path, options);
        QVERIFY(r.summary.ok());
        QCOMPARE(lastProgress, uint64_t(body.size()));
        QCOMPARE(r.summary->spans, uint64_t(r.spans.size()));
        QVERIFY(r.spans.size() > 1000 / 13);
        int64_t next = 1;
        for (const TextSpan& s : r.spans) {
            QCOMPARE(s.anchor.firstLine, next);
            QVERIFY(s.text.size() <= 300);
            const auto lines = std::count(s.text.begin(), s.text.end(), '\n');
            QVERIFY(lines <= 13);
            QCOMPARE(s.anchor.lastLine - s.anchor.firstLine + 1, int64_t(lines));
            // The first line of every span names its own number.
            const std::string head = "entry " + std::to_string(s.anchor.firstLine);
            QCOMPARE(s.text.substr(0, head.size()), head);
            next = s.anchor.lastLine + 1;
        }
        QCOMPARE(next, int64_t(1001));
        QCOMPARE(r.text(), body);
    }

    void longLineCutIntoPiecesWithItsNumber() {
        QTemporaryDir dir;
        const std::string body = "short\n" + std::string(1000, 'y') + "\nafter\n";
        const auto path = writeFile(dir, "long.log", body);
        LogReadOptions options;
        options.blockBytes = 128;
        options.maxSpanBytes = 100;
        const Read r = read(path, options);
        QVERIFY(r.summary.ok());
        QCOMPARE(r.text(), body);
        QCOMPARE(r.summary->lines, uint64_t(3));
        for (const TextSpan& s : r.spans) {
            QVERIFY(s.text.size() <= 101);
            if (s.text.find('y') != std::string::npos) {
                QCOMPARE(s.anchor.firstLine, int64_t(2));
                QCOMPARE(s.anchor.lastLine, int64_t(2));
            }
        }
        QCOMPARE(r.spans.back().anchor.firstLine, int64_t(3));
    }

    void repeatsKeptByDefault() {
        QTemporaryDir dir;
        std::string body = "start\n";
        for (int i = 0; i < 42; ++i)
            body += "connection refused\n";
        body += "end\n";
        const auto path = writeFile(dir, "rep.log", body);
        const Read r = read(path);
        QVERIFY(r.summary.ok());
        QCOMPARE(r.text(), body);
        QCOMPARE(r.summary->collapsedLines, uint64_t(0));
        QCOMPARE(r.summary->lines, uint64_t(44));
    }

    void repeatsCollapsed() {
        QTemporaryDir dir;
        std::string body = "start\n";
        for (int i = 0; i < 42; ++i)
            body += "connection refused\r\n";
        body += "end\nend\n";
        const auto path = writeFile(dir, "rep.log", body);
        LogReadOptions options;
        options.collapseRepeats = true;
        options.maxSpanLines = 2;
        const Read r = read(path, options);
        QVERIFY(r.summary.ok());
        QCOMPARE(r.text(), std::string("start\nconnection refused\n"
                                       "[previous line repeated 41 more times]\n"
                                       "end\n[previous line repeated 1 more times]\n"));
        QCOMPARE(r.summary->collapsedLines, uint64_t(42));
        QCOMPARE(r.summary->lines, uint64_t(45));
        QCOMPARE(r.spans.size(), size_t(3));
        QCOMPARE(r.spans[0].anchor.firstLine, int64_t(1));
        QCOMPARE(r.spans[0].anchor.lastLine, int64_t(2));
        QCOMPARE(r.spans[1].anchor.firstLine, int64_t(3));
        QCOMPARE(r.spans[1].anchor.lastLine, int64_t(44));
        QCOMPARE(r.spans[2].anchor.firstLine, int64_t(45));
        QCOMPARE(r.spans[2].anchor.lastLine, int64_t(45));
    }

    void sinkErrorStopsTheRead() {
        QTemporaryDir dir;
        const auto path = writeFile(dir, "stop.log", "a\nb\nc\n");
        LogReadOptions options;
        options.maxSpanLines = 1;
        int calls = 0;
        const auto summary = readLogDocument(
            path,
            [&](TextSpan&&) {
                ++calls;
                return Status(badInput("stop"));
            },
            options);
        QVERIFY(!summary.ok());
        QCOMPARE(summary.error().message, std::string("stop"));
        QCOMPARE(calls, 1);
    }
};

QTEST_GUILESS_MAIN(TestLogDocument)
#include "test_log_document.moc"
