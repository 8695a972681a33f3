// strata-cli ingest over a mixed request: a PDF (locked, then with its password), CRLF, UTF-16 and
// Latin-1 logs, an empty file and a binary file named .log. Each file gets its own result; a bad
// one is an error for that file only.
#include <QtTest>

#include <nlohmann/json.hpp>

#include "cli/CliRunner.h"

class TestCliIngest : public QObject {
    Q_OBJECT
private:
    QTemporaryDir tmp_;
    QString write(const QString& name, const QByteArray& bytes) {
        QFile f(tmp_.filePath(name));
        if (!f.open(QIODevice::WriteOnly)) return {};
        f.write(bytes);
        return f.fileName();
    }
    static QString model() { return QStringLiteral(STRATA_TEST_DATA_DIR "/models/llama_tied"); }
    static QString pdf() { return QStringLiteral(STRATA_TEST_DATA_DIR "/pdf/encrypted.pdf"); }

private slots:
    void eachFileGetsItsOwnResult() {
        const QString crlf = write("crlf.log", "first line\r\nsecond line\r\n");
        QByteArray utf16("\xff\xfe", 2);
        for (QChar c : QString::fromUtf8("café log\n")) {
            utf16.append(char(c.unicode() & 0xff));
            utf16.append(char(c.unicode() >> 8));
        }
        const QString wide = write("wide.log", utf16);
        const QString latin = write("latin.log", QByteArray("caf\xe9 au lait\n"));
        const QString empty = write("empty.txt", QByteArray());
        const QString binary = write("core.log", QByteArray("\x7f" "ELF\x02\x01\x01\x00\x00\x00", 10));

        const CliRun r = runCli({"ingest", "--model", model(), "--json", crlf, wide, latin, empty, binary, pdf()});
        QCOMPARE(r.exitCode, 2);
        const auto out = nlohmann::json::parse(r.out.toStdString());
        const auto& files = out["files"];
        QCOMPARE(files.size(), size_t(6));
        QCOMPARE(files[0]["lines"].get<int>(), 2);
        QVERIFY(files[0]["tokens"].get<int>() > 0);
        QCOMPARE(files[1]["encoding"].get<std::string>(), std::string("UTF-16LE"));
        QVERIFY(files[1]["tokens"].get<int>() > 0);
        QCOMPARE(files[2]["replaced_sequences"].get<int>(), 0);
        QCOMPARE(files[3]["tokens"].get<int>(), 0);
        QVERIFY(files[3].find("error") == files[3].end());
        QVERIFY(QString::fromStdString(files[4]["error"].get<std::string>()).contains("looks binary"));
        QVERIFY(QString::fromStdString(files[5]["error"].get<std::string>()).contains("password"));
        QVERIFY(r.err.contains("some files could not be ingested"));
    }

    void passwordOpensTheLockedPdf() {
        const CliRun r = runCli({"ingest", "--model", model(), "--password", "strata-user", pdf()});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QVERIFY2(r.out.contains("encrypted.pdf: pdf, 2 pages"), qPrintable(r.out));
        QVERIFY(r.out.contains("total "));
    }

    void tooMuchForTheContextIsSaid() {
        const QString log = write("long.log", QByteArray("alpha beta gamma delta\n").repeated(200));
        const CliRun r = runCli({"ingest", "--model", model(), "--context", "100", log});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QVERIFY2(r.out.contains("does not fit"), qPrintable(r.out));
        QVERIFY(r.out.contains("nothing is cut off"));
    }
};

QTEST_GUILESS_MAIN(TestCliIngest)
#include "test_cli_ingest.moc"
