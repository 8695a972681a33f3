// Files made into prompt parts: text spans with their sources and Gemma 3 token counts, a part
// larger than the context counted in full but not held, images and audio refused by a text-only
// model and read as tensors by one that takes them, and the budget that never cuts silently.
#include <QtTest>

#include "PromptParts.h"
#include "support/TestFiles.h"
#include "../support/TestPaths.h"
#include "tokenizer/Tokenizer.h"

using namespace strata;
using strata::testsupport::contains;
using strata::testsupport::writeFile;

namespace {

std::filesystem::path data(const char* relative) { return strata::testsupport::testDataDir() / relative; }

}  // namespace

class TestPromptParts : public QObject {
    Q_OBJECT
    std::unique_ptr<Tokenizer> tokenizer_;
    ModelInputs textModel_;

private slots:
    void initTestCase() {
        auto tokenizer = loadTokenizer(strata::testsupport::sharedDir() / "tokenizers" / "gemma3");
        QVERIFY2(tokenizer.ok(), tokenizer.ok() ? "" : tokenizer.error().message.c_str());
        tokenizer_ = std::move(tokenizer.value());
        textModel_.modelName = "gemma3_text";
        textModel_.contextTokens = 32768;
        textModel_.countTokens = [this](std::string_view text) {
            return int64_t(tokenizer_->encode(text, false).size());
        };
    }

    void logBecomesAnchoredSpansWithTheirTokens() {
        QTemporaryDir dir;
        const auto log = writeFile(dir, "ops.log", std::string("boot ok\r\noutage began 09:14\r\noutage ended 11:02\r\n"));
        auto part = ingestFile(log, textModel_);
        QVERIFY2(part.ok(), part.ok() ? "" : part.error().message.c_str());
        QCOMPARE(part->kind, PartKind::Text);
        QCOMPARE(part->lines, uint64_t(3));
        QCOMPARE(part->details, std::string("3 lines, UTF-8"));
        QCOMPARE(part->spans.size(), size_t(1));
        QVERIFY(part->textKept);

        const std::string rendered = renderTextParts({part.value()});
        QCOMPARE(rendered, std::string("[ops.log, lines 1-3]\nboot ok\noutage began 09:14\noutage ended 11:02\n"));
        // One span: its count is exactly the rendered text's (the separator newline included).
        QCOMPARE(part->tokens, int64_t(tokenizer_->encode(rendered + "\n", false).size()));
    }

    void pdfPagesAreAnchoredByPage() {
        IngestOptions options;
        options.password = "strata-user";
        std::vector<uint64_t> pagesDone;
        options.progress = [&](uint64_t done, uint64_t) { pagesDone.push_back(done); };
        auto part = ingestFile(data("pdf/encrypted.pdf"), textModel_, options);
        QVERIFY2(part.ok(), part.ok() ? "" : part.error().message.c_str());
        QCOMPARE(part->kind, PartKind::Pdf);
        QCOMPARE(part->pages, int64_t(2));
        QCOMPARE(pagesDone, (std::vector<uint64_t>{1, 2}));
        QVERIFY(!part->spans.empty());
        QCOMPARE(part->spans.front().anchor.page, int64_t(1));
        QVERIFY(contains(renderTextParts({part.value()}), "[encrypted.pdf, page 1]\n"));
        QVERIFY(part->tokens > 0);

        auto locked = ingestFile(data("pdf/encrypted.pdf"), textModel_);
        QVERIFY(!locked.ok());
        QVERIFY(contains(locked.error().message, "encrypted.pdf"));
        QVERIFY(contains(locked.error().message, "password"));
    }

    void partLargerThanTheContextIsCountedButNotHeld() {
        QTemporaryDir dir;
        std::string text;
        for (int i = 0; i < 4000; ++i) text += "request " + std::to_string(i) + " served in 12 ms\n";
        const auto log = writeFile(dir, "big.log", text);
        ModelInputs small = textModel_;
        small.contextTokens = 2000;
        auto part = ingestFile(log, small);
        QVERIFY2(part.ok(), part.ok() ? "" : part.error().message.c_str());
        QVERIFY(!part->textKept);
        QVERIFY(part->spans.empty());
        QCOMPARE(part->lines, uint64_t(4000));
        // Counted to the end, not stopped at the context: the whole file is more than 20,000 tokens.
        QVERIFY2(part->tokens > 20000, qPrintable(QString::number(part->tokens)));
        QVERIFY(renderTextParts({part.value()}).empty());

        const PromptBudget budget = weighPromptParts({part.value()}, small.contextTokens, 100);
        QVERIFY(!budget.fits);
        QCOMPARE(budget.partTokens, part->tokens);
        QVERIFY2(contains(budget.summary, "does not fit"), budget.summary.c_str());
        QVERIFY(contains(budget.summary, "big.log"));
        QVERIFY(contains(budget.summary, "several passes"));
        QVERIFY(contains(budget.summary, "nothing is cut off"));
    }

    void budgetThatFitsStatesTheTotal() {
        PromptPart a, b;
        a.file = "a.log";
        a.tokens = 1200;
        b.file = "b.pdf";
        b.tokens = 34567;
        const PromptBudget budget = weighPromptParts({a, b}, 131072, 433);
        QVERIFY(budget.fits);
        QCOMPARE(budget.partTokens, int64_t(35767));
        QCOMPARE(budget.summary, std::string("36,200 of a 131,072-token context (files 35,767, question and answer 433)"));
    }

    void imagesAndAudioNeedAModelThatTakesThem() {
        auto image = ingestFile(data("images/checker.png"), textModel_);
        QVERIFY2(image.ok(), image.ok() ? "" : image.error().message.c_str());
        QCOMPARE(image->kind, PartKind::Image);
        QCOMPARE(image->tokens, int64_t(0));
        QVERIFY2(contains(image->unusable, "gemma3_text takes no images"), image->unusable.c_str());
        QVERIFY(image->pixelValues.empty());

        ModelInputs vision = textModel_;
        vision.tokensPerImage = kGemma3TokensPerImage;
        image = ingestFile(data("images/checker.png"), vision);
        QVERIFY(image.ok());
        QVERIFY(image->unusable.empty());
        QCOMPARE(image->tokens, kGemma3TokensPerImage);
        QCOMPARE(image->pixelValues.size(), size_t(3 * 896 * 896));

        auto audio = ingestFile(data("audio/chirp_16k_mono.flac"), textModel_);
        QVERIFY2(audio.ok(), audio.ok() ? "" : audio.error().message.c_str());
        QCOMPARE(audio->kind, PartKind::Audio);
        QVERIFY2(contains(audio->unusable, "takes no audio"), audio->unusable.c_str());
        QVERIFY(audio->audio.logMel.empty());

        ModelInputs listening = textModel_;
        listening.tokensPerAudioChunk = kVoxtralTokensPerAudioChunk;
        audio = ingestFile(data("audio/chirp_16k_mono.flac"), listening);
        QVERIFY(audio.ok());
        QCOMPARE(audio->tokens, audio->audioChunks * kVoxtralTokensPerAudioChunk);
        QCOMPARE(int64_t(audio->audio.logMel.size()), audio->audioChunks * kWhisperMelBins * kWhisperFrames);

        const PromptBudget budget = weighPromptParts({image.value(), audio.value()}, 32768);
        QVERIFY(budget.unusable.empty());
    }

    void kindComesFromTheBytesBeforeTheName() {
        QTemporaryDir dir;
        std::ifstream png(data("images/checker.png"), std::ios::binary);
        const std::string bytes((std::istreambuf_iterator<char>(png)), std::istreambuf_iterator<char>());
        QCOMPARE(detectPartKind(writeFile(dir, "screenshot.log", bytes)), PartKind::Image);
        QCOMPARE(detectPartKind(writeFile(dir, "notes.txt", std::string("%PDF-1.7\n"))), PartKind::Pdf);
        QCOMPARE(detectPartKind(writeFile(dir, "scan.pdf", std::string("not really"))), PartKind::Pdf);
        QCOMPARE(detectPartKind(writeFile(dir, "README", std::string("hello\n"))), PartKind::Text);

        auto fake = ingestFile(dir.filePath("scan.pdf").toStdString(), textModel_);
        QVERIFY(!fake.ok());
        QVERIFY2(contains(fake.error().message, "scan.pdf"), fake.error().message.c_str());
    }
};

QTEST_GUILESS_MAIN(TestPromptParts)
#include "test_prompt_parts.moc"
