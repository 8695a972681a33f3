#include <QtTest>

#include <filesystem>
#include <fstream>

#include "TextDocument.h"

#include "../support/TestFiles.h"

using namespace strata;
using namespace strata::testsupport;

namespace {

}  // namespace

class TestTextDocument : public QObject {
    Q_OBJECT

private slots:
    void validUtf8WithBomIsStripped() {
        QTemporaryDir dir;
        const std::string body = "Grüße, 世界 \xF0\x9F\x98\x80\nline two\n";
        const auto path = writeFile(dir, "bom.txt", "\xEF\xBB\xBF" + body);
        const auto text = readUtf8TextFile(path);
        QVERIFY2(text.ok(), text.ok() ? "" : text.error().message.c_str());
        QCOMPARE(*text, body);
    }

    void validUtf8WithoutBom() {
        QTemporaryDir dir;
        const std::string body = "plain ascii\r\nwith CRLF and a lone \xEF\xBB\xBF in the middle";
        const auto text = readUtf8TextFile(writeFile(dir, "plain.txt", body));
        QVERIFY(text.ok());
        QCOMPARE(*text, body);
    }

    void latin1FileRejectedWithLineAndColumn() {
        QTemporaryDir dir;
        // "café" in Latin-1 on the third line: é is the lone byte 0xE9.
        const auto path = writeFile(dir, "latin1.txt", "first\nsecond\ncaf\xE9 au lait\n");
        const auto text = readUtf8TextFile(path);
        QVERIFY(!text.ok());
        QCOMPARE(text.error().kind, ErrorKind::BadInput);
        const std::string& msg = text.error().message;
        QVERIFY2(contains(msg, path.string()), msg.c_str());
        QVERIFY2(contains(msg, "not valid UTF-8 at line 3, column 4 (byte offset 16)"), msg.c_str());
        QVERIFY2(contains(msg, "convert it to UTF-8 first"), msg.c_str());
    }

    void columnCountsCharactersAndOffsetCountsTheBom() {
        QTemporaryDir dir;
        const auto path = writeFile(dir, "mixed.txt", "\xEF\xBB\xBFÄö\xFFx");
        const auto text = readUtf8TextFile(path);
        QVERIFY(!text.ok());
        QVERIFY2(contains(text.error().message, "line 1, column 3 (byte offset 7)"),
                 text.error().message.c_str());
    }

    void truncatedSequenceAtEof() {
        QTemporaryDir dir;
        const auto path = writeFile(dir, "cut.txt", "ok\n\xE2\x82");  // first two bytes of €
        const auto text = readUtf8TextFile(path);
        QVERIFY(!text.ok());
        QVERIFY2(contains(text.error().message, "line 2, column 1 (byte offset 3)"),
                 text.error().message.c_str());
    }

    void overlongRejected() {
        size_t bad = 99;
        QVERIFY(!isValidUtf8("a\xC0\xAF", &bad));  // overlong '/'
        QCOMPARE(bad, size_t(1));
        QVERIFY(!isValidUtf8("\xE0\x80\xAF", &bad));
        QCOMPARE(bad, size_t(0));
        QVERIFY(!isValidUtf8("abcdefghij\xF0\x80\x80\xAF", &bad));
        QCOMPARE(bad, size_t(10));
        QTemporaryDir dir;
        QVERIFY(!readUtf8TextFile(writeFile(dir, "overlong.txt", "x\xC1\x81")).ok());
    }

    void surrogateRejected() {
        size_t bad = 99;
        QVERIFY(!isValidUtf8("ab\xED\xA0\x80", &bad));  // U+D800
        QCOMPARE(bad, size_t(2));
        QVERIFY(!isValidUtf8("\xED\xBF\xBF", &bad));  // U+DFFF
        QVERIFY(isValidUtf8("\xED\x9F\xBF"));  // U+D7FF, just below
        QTemporaryDir dir;
        const auto text = readUtf8TextFile(writeFile(dir, "surrogate.txt", "\xED\xB2\x80"));
        QVERIFY(!text.ok());
        QVERIFY(contains(text.error().message, "byte offset 0"));
    }

    void boundaries() {
        QVERIFY(isValidUtf8(""));
        QVERIFY(isValidUtf8("\x7F"));
        QVERIFY(isValidUtf8("\xC2\x80"));               // U+0080
        QVERIFY(isValidUtf8("\xEF\xBF\xBF"));           // U+FFFF
        QVERIFY(isValidUtf8("\xF0\x90\x80\x80"));       // U+10000
        QVERIFY(isValidUtf8("\xF4\x8F\xBF\xBF"));       // U+10FFFF
        QVERIFY(!isValidUtf8("\xF4\x90\x80\x80"));      // above U+10FFFF
        QVERIFY(!isValidUtf8("\xF5\x80\x80\x80"));
        QVERIFY(!isValidUtf8("\xFF"));
        QVERIFY(!isValidUtf8("\x80"));                  // lone continuation
        QVERIFY(!isValidUtf8("\xE2\x28\xA1"));          // continuation missing
        size_t bad = 0;
        QVERIFY(!isValidUtf8("0123456789abcdef\xF0\x9F\x98", &bad));  // truncated after ASCII run
        QCOMPARE(bad, size_t(16));
        std::string nul("a\0b", 3);
        QVERIFY(isValidUtf8(nul));
    }

    void missingFileNamesFileAndReason() {
        QTemporaryDir dir;
        const auto path = std::filesystem::path(dir.path().toStdString()) / "nope.txt";
        const auto text = readUtf8TextFile(path);
        QVERIFY(!text.ok());
        QCOMPARE(text.error().kind, ErrorKind::BadInput);
        QVERIFY2(contains(text.error().message, path.string()), text.error().message.c_str());
        QVERIFY2(contains(text.error().message, "No such file"), text.error().message.c_str());
    }

    void directoryRejected() {
        QTemporaryDir dir;
        const auto text = readUtf8TextFile(dir.path().toStdString());
        QVERIFY(!text.ok());
        QVERIFY(contains(text.error().message, "directory"));
    }

    void emptyFileGivesEmptyText() {
        QTemporaryDir dir;
        const auto text = readUtf8TextFile(writeFile(dir, "empty.txt", ""));
        QVERIFY(text.ok());
        QVERIFY(text->empty());
        const auto bomOnly = readUtf8TextFile(writeFile(dir, "bom-only.txt", "\xEF\xBB\xBF"));
        QVERIFY(bomOnly.ok());
        QVERIFY(bomOnly->empty());
    }

    void tooLargeRejected() {
        QTemporaryDir dir;
        const auto path = writeFile(dir, "big.txt", std::string(200000, 'a'));
        const auto text = readUtf8TextFile(path, 100000);
        QVERIFY(!text.ok());
        QCOMPARE(text.error().kind, ErrorKind::BadInput);
        QVERIFY2(contains(text.error().message, "100000 bytes"), text.error().message.c_str());
        QVERIFY(readUtf8TextFile(path, 200000).ok());
    }
};

QTEST_GUILESS_MAIN(TestTextDocument)
#include "test_text_document.moc"
