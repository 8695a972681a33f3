// strata-cli ingest over a mixed request: a PDF (locked, then with its password), CRLF, UTF-16 and
// Latin-1 logs, an empty file and a binary file named .log. Each file gets its own result; a bad
// one is an error for that file only.
#include <QtTest>

#include <nlohmann/json.hpp>

#include "cli/CliRunner.h"
#include "support/DefaultModel.h"
#include "support/HandWrittenPdf.h"
#include "../support/TestPaths.h"
#include "support/TinyMultimodalModels.h"

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
    static QString model() { return strata::testsupport::testDataPath("models/llama_tied"); }
    static QString pdf() { return strata::testsupport::testDataPath("pdf/encrypted.pdf"); }

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
        QVERIFY2(r.out.contains("encrypted.pdf: PDF document, 2 pages"), qPrintable(r.out));
        QVERIFY(r.out.contains("total "));
    }

    // --text: what the model will read, exactly as run --attach puts it before the question; the
    // figures go to stderr.
    void textShowsWhatThePromptGets() {
        const QString log = write("notes.log", "first\r\nsecond\n");
        const QString other = write("more.txt", "third\n");
        const CliRun r = runCli({"ingest", "--model", model(), "--text", log, other});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QCOMPARE(r.out, QString("[notes.log, lines 1-2]\nfirst\nsecond\n\n[more.txt, line 1]\nthird\n"));
        QVERIFY2(r.err.contains("notes.log: ") && r.err.contains("total "), qPrintable(r.err));
        verifyBadInput(runCli({"ingest", "--model", model(), "--text", "--json", log}), {"--text", "--json"});
    }

    void tooMuchForTheContextIsSaid() {
        const QString log = write("long.log", QByteArray("alpha beta gamma delta\n").repeated(200));
        const CliRun r = runCli({"ingest", "--model", model(), "--context", "100", log});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QVERIFY2(r.out.contains("does not fit"), qPrintable(r.out));
        QVERIFY(r.out.contains("nothing is cut off"));
    }

    // run --attach: the file's text reaches the model after its source line, and the session
    // records the attachment.
    void attachedFileIsAskedAboutAndRecorded() {
        const QString log = write("ops.log", "outage began 09:14\r\noutage ended 11:02\r\n");
        const CliRun bare = runCli({"run", "--model", model(), "--prompt", "When did it end?", "--max-tokens", "1"});
        QVERIFY2(bare.exitCode == 0, qPrintable(bare.err));
        const CliRun r = runCli({"run", "--model", model(), "--attach", log, "--prompt", "When did it end?",
                                 "--max-tokens", "1"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QVERIFY2(r.err.contains("attached 1 file(s): "), qPrintable(r.err));
        // The anchor line and the log's text come before the question.
        QVERIFY2(prefillTokens(r.err) > prefillTokens(bare.err) + 10, qPrintable(r.err));
        const QString id = sessionIdOf(r.err);
        QVERIFY(!id.isEmpty());
        const CliRun shown = runCli({"sessions", "show", id});
        QVERIFY2(shown.out.contains("ops.log"), qPrintable(shown.out));
        QVERIFY2(shown.out.contains("user: When did it end?"), qPrintable(shown.out));
    }

    // Pages that yield no text, even with OCR, are said before the job starts. Off a terminal the
    // run goes on when some text remains, and stops when a document yields none (the model would
    // answer about a document it never saw) unless --allow-empty-pages.
    void pagesWithoutTextAreSaidBeforeTheJob() {
        using strata::testsupport::makePdf;
        const QString partly = write("partly.pdf", QByteArray::fromStdString(makePdf({{"The pump failed at noon."}, {}})));
        const QString blank = write("blank.pdf", QByteArray::fromStdString(makePdf({{}, {}})));
        const QStringList ask = {"--prompt", "When did it fail?", "--max-tokens", "1", "--model", model()};
        const CliRun r = runCli(QStringList{"run", "--attach", partly} + ask);
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        const qsizetype warning = r.err.indexOf("warning: partly.pdf: page 2 yields no text, even with OCR");
        QVERIFY2(warning >= 0 && warning < r.err.indexOf("session "), qPrintable(r.err));  // before the job

        const CliRun refused = runCli(QStringList{"run", "--attach", blank} + ask);
        QCOMPARE(refused.exitCode, 2);
        QVERIFY2(refused.err.contains("warning: blank.pdf: no page yields text, even with OCR"), qPrintable(refused.err));
        QVERIFY2(refused.err.contains("error: blank.pdf yields no text") && refused.err.contains("--allow-empty-pages"),
                 qPrintable(refused.err));
        QVERIFY(!refused.err.contains("session "));  // nothing ran, nothing was saved

        const CliRun allowed = runCli(QStringList{"run", "--attach", blank, "--allow-empty-pages"} + ask);
        QVERIFY2(allowed.exitCode == 0, qPrintable(allowed.err));
        QVERIFY(allowed.err.contains("warning: blank.pdf"));
    }

    void attachmentsThatDoNotFitAreRefusedWithChoices() {
        const QString log = write("huge.log", QByteArray("alpha beta gamma delta epsilon\n").repeated(3000));
        const CliRun r = runCli({"run", "--model", model(), "--attach", log, "--prompt", "Summarise", "--max-tokens", "1"});
        verifyBadInput(r, {"does not fit", "huge.log", "leave files out", "several passes", "nothing is cut off"});
    }

    void attachmentTheModelCannotTakeIsRefused() {
        const CliRun image = runCli({"run", "--model", model(), "--attach",
                                     strata::testsupport::testDataPath("images/checker.png"), "--prompt", "What is it?"});
        verifyBadInput(image, {"checker.png", "takes no images"});
        if (QTest::currentTestFailed()) return;
        const CliRun binary = runCli({"run", "--model", model(), "--attach",
                                      write("core.log", QByteArray("\x7f" "ELF\x02\x01\x01\x00\x00\x00", 10)),
                                      "--prompt", "What is it?"});
        verifyBadInput(binary, {"core.log", "binary"});
        if (QTest::currentTestFailed()) return;
        const CliRun noQuestion = runCli({"run", "--model", model(), "--attach", write("a.log", "x\n")});
        verifyBadInput(noQuestion, {"--attach, --image and --audio need the question"});
    }

    // --image and --audio: the wrong kind of file, a model without encoders, a damaged image, and
    // more images than the context holds are each one clear error.
    void mediaFlagsRefuseWhatCannotWork() {
        const QString png = strata::testsupport::testDataPath("images/checker.png");
        const QString flac = strata::testsupport::testDataPath("audio/chirp_16k_mono.flac");
        verifyBadInput(runCli({"run", "--model", model(), "--image", png, "--prompt", "What is it?"}),
                       {"checker.png", "takes no images"});
        verifyBadInput(runCli({"run", "--model", model(), "--audio", flac, "--prompt", "What is said?"}),
                       {"chirp_16k_mono.flac", "takes no audio"});
        verifyBadInput(runCli({"run", "--model", model(), "--image", flac, "--prompt", "What is it?"}),
                       {"chirp_16k_mono.flac", "is not an image"});
        verifyBadInput(runCli({"run", "--model", model(), "--transcribe", "--prompt", "x"}),
                       {"--transcribe", "leave out --prompt"});

        // The tiny Gemma 3 vision model (context 128) with the real Gemma 3 tokenizer beside it.
        const QString gemma = tmp_.filePath("gemma3_vision");
        QDir().mkpath(gemma);
        for (const char* f : {"config.json", "model.safetensors"})
            QFile::copy(strata::testsupport::testDataPath("models/gemma3_vision/") + f, gemma + "/" + f);
        for (const char* f : {"tokenizer.json", "tokenizer_config.json"})
            QFile::copy(strata::testsupport::sharedPath("tokenizers/gemma3/") + f, gemma + "/" + f);
        QByteArray png8 = [&] {
            QFile f(png);
            return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
        }();
        const QString cut = write("cut.png", png8.left(png8.size() / 2));
        verifyBadInput(runCli({"run", "--model", gemma, "--image", cut, "--prompt", "What is it?"}), {"cut.png"});
        // Each image takes 16 soft tokens and 4 more: six of them and the answer pass 128 positions.
        QStringList six{"run", "--model", gemma, "--prompt", "Compare them.", "--max-tokens", "8"};
        for (int i = 0; i < 6; ++i) six << "--image" << png;
        verifyBadInput(runCli(six), {"does not fit", "checker.png", "leave files out"});
        verifyBadInput(runCli({"run", "--model", gemma, "--audio", flac, "--prompt", "What is said?"}),
                       {"takes no audio"});
    }

    // Two images through strata-cli into a saved session: encoded, placed in the prompt as Gemma 3
    // writes images, prefilled in checkpoint pieces that never cut an image, answered; a follow-up
    // question continues from the cache without the images.
    void imagesRunIntoASession() {
        const QString dir = tmp_.filePath("tiny_gemma3_vision");
        QVERIFY(QDir().mkpath(dir));
        QVERIFY(strata::testsupport::writeTinyGemma3Vision(dir.toStdString()));
        const QString store = tmp_.filePath("sessions");
        const QString png = strata::testsupport::testDataPath("images/checker.png");
        const QString gif = strata::testsupport::testDataPath("images/frames.gif");
        const CliRun r = runCli({"run", "--model", dir, "--store", store, "--image", png, "--image", gif, "--prompt",
                                 "What differs between the two pictures?", "--max-tokens", "4", "--checkpoint-tokens",
                                 "32"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.err));
        QVERIFY2(r.err.contains("attached 2 file(s)"), qPrintable(r.err));
        const QRegularExpression sessionLine("session ([0-9a-f-]+)");
        const auto match = sessionLine.match(r.err);
        QVERIFY2(match.hasMatch(), qPrintable(r.err));
        const CliRun follow = runCli({"run", "--store", store, "--session", match.captured(1), "--prompt",
                                      "And which is larger?", "--max-tokens", "2"});
        QVERIFY2(follow.exitCode == 0, qPrintable(follow.err));
        const CliRun again = runCli({"run", "--store", store, "--session", match.captured(1), "--image", png,
                                     "--prompt", "And this one?"});
        verifyBadInput(again, {"new session's first question"});
    }

    // 45 s of audio through strata-cli: a question about it, and a transcription request, each in
    // Mistral's format with the two chunks' 750 rows in place of the [AUDIO] tokens.
    void audioIsAskedAboutAndTranscribed() {
        const QString dir = tmp_.filePath("tiny_voxtral");
        QVERIFY(QDir().mkpath(dir));
        if (!strata::testsupport::writeTinyVoxtral(dir.toStdString()))
            STRATA_MISSING_MODEL("Voxtral's vocabulary (tekken_240911.json) is not installed; run packaging/install-models.sh");
        const QString flac = strata::testsupport::testDataPath("audio/tones_45s_16k_mono.flac");
        const CliRun ask = runCli({"run", "--model", dir, "--no-save", "--audio", flac, "--prompt",
                                   "What is said in this recording?", "--max-tokens", "3"});
        QVERIFY2(ask.exitCode == 0, qPrintable(ask.err));
        QVERIFY2(ask.err.contains("attached 1 file(s)"), qPrintable(ask.err));
        // [INST] [BEGIN_AUDIO] 750 x [AUDIO], the question's 7 tokens, [/INST] after <s>.
        QVERIFY2(ask.err.contains("761"), qPrintable(ask.err));
        const CliRun transcribe = runCli({"run", "--model", dir, "--no-save", "--audio", flac, "--transcribe",
                                          "--language", "en", "--max-tokens", "3"});
        QVERIFY2(transcribe.exitCode == 0, qPrintable(transcribe.err));
        QVERIFY2(transcribe.err.contains("758"), qPrintable(transcribe.err));
        verifyBadInput(runCli({"run", "--model", dir, "--audio", flac, "--audio", flac, "--transcribe"}),
                       {"exactly one recording"});
        const QString png = strata::testsupport::testDataPath("images/checker.png");
        verifyBadInput(runCli({"run", "--model", dir, "--image", png, "--prompt", "What is it?"}),
                       {"takes no images"});
    }
};

QTEST_GUILESS_MAIN(TestCliIngest)
#include "test_cli_ingest.moc"
