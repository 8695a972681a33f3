// OCR of scanned PDF pages and of images for a model that takes no images: the words come back
// (measured as word accuracy against the text the fixture was rendered from), their anchors say
// OCR and its confidence, a second read comes from the cache (which a damaged entry never
// fools), a cancel stops the read with its own error, and a missing language pack is named.
// Fixtures: tests/tools/make_ocr_fixtures.py.
#include <QtTest>

#include <nlohmann/json.hpp>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "ChildProcess.h"
#include "OcrCache.h"
#include "OcrEngine.h"
#include "PromptParts.h"

#include "../ingest_support/TextOnlyModel.h"
#include "../support/TestFiles.h"
#include "../support/TestPaths.h"

using namespace strata;
using namespace strata::testsupport;

namespace {

std::filesystem::path fixture(const char* name) { return testDataDir() / "ocr" / name; }

std::vector<std::string> wordsOf(const std::string& text) {
    std::istringstream in(text);
    std::vector<std::string> words;
    for (std::string w; in >> w;)
        words.push_back(w);
    return words;
}

// 1 - (word-level edit distance) / (reference words): substitutions, insertions and deletions
// of whole words, punctuation and case included.
double wordAccuracy(const std::string& reference, const std::string& recognised) {
    const std::vector<std::string> ref = wordsOf(reference), got = wordsOf(recognised);
    std::vector<size_t> previous(got.size() + 1), current(got.size() + 1);
    for (size_t j = 0; j <= got.size(); ++j)
        previous[j] = j;
    for (size_t i = 1; i <= ref.size(); ++i) {
        current[0] = i;
        for (size_t j = 1; j <= got.size(); ++j)
            current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref[i - 1] == got[j - 1] ? 0 : 1)});
        std::swap(previous, current);
    }
    return 1.0 - double(previous[got.size()]) / double(ref.size());
}

nlohmann::json texts() { return nlohmann::json::parse(readText(fixture("texts.json"))); }

std::vector<std::filesystem::path> cacheFiles(const QTemporaryDir& dir) {
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir.path().toStdString()))
        files.push_back(entry.path());
    return files;
}

}  // namespace

class TestIngestOcr : public QObject {
    Q_OBJECT
    std::unique_ptr<QTemporaryDir> cache_;

    // Every test starts with an empty cache of its own, named through the environment as a
    // user would.
    void freshCache() {
        cache_ = std::make_unique<QTemporaryDir>();
        qputenv("STRATA_OCR_CACHE_DIR", cache_->path().toUtf8());
    }

private slots:
    void initTestCase() {
        if (!std::filesystem::exists(fixture("scan.pdf")))
            QFAIL("tests/data/ocr is missing; run tests/tools/make_ocr_fixtures.py");
        qunsetenv("STRATA_OCR_LANGUAGES");
        const auto languages = installedOcrLanguages();
        QVERIFY2(std::find(languages.begin(), languages.end(), "eng") != languages.end(),
                 "the English language pack is needed: apt-get install tesseract-ocr-eng");
        qInfo("Tesseract %s", tesseractVersion().c_str());
    }

    void init() { freshCache(); }

    void scannedPagesAreReadAndMarkedAsOcr() {
        const auto expected = texts()["pages"];
        std::vector<std::pair<uint64_t, uint64_t>> progress;
        IngestOptions options;
        options.progress = [&](uint64_t done, uint64_t total) { progress.emplace_back(done, total); };
        const auto part = ingestFile(fixture("scan.pdf"), textOnlyModel(), options);
        QVERIFY2(part.ok(), part.ok() ? "" : part.error().message.c_str());
        QCOMPARE(part->format, std::string("PDF document"));
        QCOMPARE(part->ocrPages, int64_t(2));
        QVERIFY(!part->ocrFromCache);
        QVERIFY(part->pagesWithoutText.empty());
        QCOMPARE(progress, (std::vector<std::pair<uint64_t, uint64_t>>{{1, 2}, {2, 2}}));
        QCOMPARE(part->spans.size(), size_t(2));
        const std::string rendered = renderTextParts({part.value()});
        for (size_t i = 0; i < 2; ++i) {
            const SourceAnchor& anchor = part->spans[i].anchor;
            QVERIFY(anchor.ocr);
            QCOMPARE(anchor.page, int64_t(i + 1));
            QVERIFY2(anchor.ocrConfidence > 50 && anchor.ocrConfidence <= 100, std::to_string(anchor.ocrConfidence).c_str());
            const std::string line = "[scan.pdf, page " + std::to_string(i + 1) + ", OCR " +
                                     std::to_string(anchor.ocrConfidence) + "%]\n";
            QVERIFY2(contains(rendered, line), rendered.c_str());
            const double accuracy = wordAccuracy(expected[i].get<std::string>(), part->spans[i].text);
            qInfo("scan.pdf page %zu: word accuracy %.4f, OCR confidence %d%%", i + 1, accuracy, anchor.ocrConfidence);
            QVERIFY2(accuracy >= 0.95, part->spans[i].text.c_str());
        }
        QVERIFY(part->ocrConfidence > 50);
        QVERIFY2(contains(part->details, "OCR 2 pages"), part->details.c_str());

        // The second question about the same file takes the text from the cache.
        const auto again = ingestFile(fixture("scan.pdf"), textOnlyModel());
        QVERIFY2(again.ok(), again.ok() ? "" : again.error().message.c_str());
        QVERIFY(again->ocrFromCache);
        QCOMPARE(again->ocrPages, int64_t(2));
        QCOMPARE(renderTextParts({again.value()}), rendered);
        QCOMPARE(cacheFiles(*cache_).size(), size_t(1));
    }

    void mixedPdfReadsOnlyTheScannedPageByOcr() {
        const auto expected = texts();
        const auto part = ingestFile(fixture("mixed.pdf"), textOnlyModel());
        QVERIFY2(part.ok(), part.ok() ? "" : part.error().message.c_str());
        QCOMPARE(part->ocrPages, int64_t(1));
        QCOMPARE(part->spans.size(), size_t(2));
        QVERIFY(!part->spans[0].anchor.ocr);
        QCOMPARE(part->spans[0].text, expected["text_layer"].get<std::string>());
        QVERIFY(part->spans[1].anchor.ocr);
        const std::string rendered = renderTextParts({part.value()});
        QVERIFY2(contains(rendered, "[mixed.pdf, page 1]\n"), rendered.c_str());
        QVERIFY2(contains(rendered, "[mixed.pdf, page 2, OCR " + std::to_string(part->spans[1].anchor.ocrConfidence) + "%]\n"),
                 rendered.c_str());
        const double accuracy = wordAccuracy(expected["pages"][0].get<std::string>(), part->spans[1].text);
        qInfo("mixed.pdf page 2: word accuracy %.4f, OCR confidence %d%%", accuracy, part->spans[1].anchor.ocrConfidence);
        QVERIFY(accuracy >= 0.95);
    }

    void ocrCanBeTurnedOff() {
        IngestOptions options;
        options.ocr = false;
        const auto part = ingestFile(fixture("mixed.pdf"), textOnlyModel(), options);
        QVERIFY2(part.ok(), part.ok() ? "" : part.error().message.c_str());
        QCOMPARE(part->ocrPages, int64_t(0));
        QCOMPARE(part->pagesWithoutText, (std::vector<int64_t>{2}));
        QVERIFY2(contains(part->details, "mixed.pdf: page 2 has no text layer (scanned?) and OCR was turned off"),
                 part->details.c_str());
        QVERIFY(cacheFiles(*cache_).empty());
    }

    void cancelBetweenPagesStopsWithItsOwnError() {
        IngestOptions options;
        bool firstPageDone = false;
        options.progress = [&](uint64_t done, uint64_t) { firstPageDone = done >= 1; };
        options.cancelled = [&]() { return firstPageDone; };
        const auto part = ingestFile(fixture("scan.pdf"), textOnlyModel(), options);
        QVERIFY(!part.ok());
        QCOMPARE(part.error().kind, ErrorKind::Cancelled);
        QVERIFY2(contains(part.error().message, "scan.pdf"), part.error().message.c_str());
        QVERIFY2(contains(part.error().message, "reading was cancelled"), part.error().message.c_str());

        // The page recognised before the cancel was kept: the next read recognises only the other.
        const auto resumed = ingestFile(fixture("scan.pdf"), textOnlyModel());
        QVERIFY2(resumed.ok(), resumed.ok() ? "" : resumed.error().message.c_str());
        QVERIFY(!resumed->ocrFromCache);
        const auto cached = ingestFile(fixture("scan.pdf"), textOnlyModel());
        QVERIFY(cached.ok() && cached->ocrFromCache);
    }

    void cancelWhileTesseractWorksStopsTheRead() {
        // The read polls once before the page and once before OCR starts; later polls come from
        // Tesseract's own cancel hook while it recognises words.
        IngestOptions options;
        int polls = 0;
        options.cancelled = [&]() { return ++polls > 2; };
        const auto part = ingestFile(fixture("scan.pdf"), textOnlyModel(), options);
        QVERIFY(!part.ok());
        QCOMPARE(part.error().kind, ErrorKind::Cancelled);
        QVERIFY2(contains(part.error().message, "scan.pdf: reading was cancelled during OCR of page 1 of 2"),
                 part.error().message.c_str());
        QVERIFY(polls > 2);
        QVERIFY(cacheFiles(*cache_).empty());
    }

    void damagedCacheEntryIsIgnoredAndRedone() {
        const auto first = ingestFile(fixture("scan.pdf"), textOnlyModel());
        QVERIFY2(first.ok(), first.ok() ? "" : first.error().message.c_str());
        const auto files = cacheFiles(*cache_);
        QCOMPARE(files.size(), size_t(1));
        const std::string good = readText(files[0]);

        const auto damagedVariants = {
            std::string(good).replace(good.size() / 2, 1, 1, char(good[good.size() / 2] ^ 0x20)),  // a flipped bit
            good.substr(0, good.size() - 9),                                                        // truncated
            std::string("not a cache entry at all"),
        };
        for (const std::string& damaged : damagedVariants) {
            writeText(files[0], damaged);
            const auto redone = ingestFile(fixture("scan.pdf"), textOnlyModel());
            QVERIFY2(redone.ok(), redone.ok() ? "" : redone.error().message.c_str());
            QVERIFY(!redone->ocrFromCache);
            QCOMPARE(renderTextParts({redone.value()}), renderTextParts({first.value()}));
            // Redone and written back whole.
            QCOMPARE(readText(files[0]), good);
        }

        // An entry of another version is not understood, so not trusted.
        auto entry = decodeOcrCache(good);
        QVERIFY(entry.has_value());
        std::string otherVersion = good;
        otherVersion[8] = char(2);
        QVERIFY(!decodeOcrCache(otherVersion).has_value());
        QCOMPARE(encodeOcrCache(*entry), good);
    }

    void imageTextReachesATextOnlyModel() {
        const std::string expected = texts()["photo"].get<std::string>();
        const auto part = ingestFile(fixture("photo.png"), textOnlyModel());
        QVERIFY2(part.ok(), part.ok() ? "" : part.error().message.c_str());
        QCOMPARE(part->format, std::string("PNG image"));
        QCOMPARE(part->kind, PartKind::Text);
        QVERIFY(part->unusable.empty());
        QCOMPARE(part->ocrPages, int64_t(1));
        QCOMPARE(part->spans.size(), size_t(1));
        const SourceAnchor& anchor = part->spans[0].anchor;
        QVERIFY(anchor.ocr);
        QCOMPARE(anchor.ocrConfidence, part->ocrConfidence);
        const std::string rendered = renderTextParts({part.value()});
        QVERIFY2(rendered.rfind("[photo.png, OCR " + std::to_string(anchor.ocrConfidence) + "%]\n", 0) == 0, rendered.c_str());
        const double accuracy = wordAccuracy(expected, part->spans[0].text);
        qInfo("photo.png: word accuracy %.4f, OCR confidence %d%%", accuracy, anchor.ocrConfidence);
        QVERIFY2(accuracy >= 0.95, part->spans[0].text.c_str());

        const auto again = ingestFile(fixture("photo.png"), textOnlyModel());
        QVERIFY(again.ok() && again->ocrFromCache);

        // A model that sees images gets the picture, not OCR.
        ModelInputs vision = textOnlyModel();
        vision.tokensPerImage = 260;
        vision.imageSize = 64;
        const auto seen = ingestFile(fixture("photo.png"), vision);
        QVERIFY2(seen.ok(), seen.ok() ? "" : seen.error().message.c_str());
        QCOMPARE(seen->kind, PartKind::Image);
        QCOMPARE(seen->ocrPages, int64_t(0));
        QCOMPARE(seen->pixelValues.size(), size_t(3 * 64 * 64));
    }

    void imageWithoutTextStaysUnusableForATextOnlyModel() {
        // Pictures of no text: gradients, a checkerboard, and a small pattern that Tesseract
        // reads as a few marks of low confidence (tests/data/formats/pattern.heic).
        for (const auto& file : {testDataDir() / "images" / "gradient.png", testDataDir() / "images" / "checker.png",
                                 testDataDir() / "formats" / "pattern.heic"}) {
            const auto part = ingestFile(file, textOnlyModel());
            QVERIFY2(part.ok(), part.ok() ? "" : part.error().message.c_str());
            qInfo("%s: %s%s", file.filename().c_str(), part->details.c_str(),
                  part->spans.empty() ? "" : (" [" + part->spans[0].text + "]").c_str());
            QCOMPARE(part->kind, PartKind::Image);
            QVERIFY2(contains(part->unusable, "test-text takes no images"), part->unusable.c_str());
            QVERIFY(part->spans.empty());
            QCOMPARE(part->tokens, int64_t(0));
        }
    }

    void missingLanguagePackNamesThePackage() {
        IngestOptions options;
        options.ocrLanguages = "eng+zul";
        const auto part = ingestFile(fixture("scan.pdf"), textOnlyModel(), options);
        QVERIFY(!part.ok());
        QCOMPARE(part.error().kind, ErrorKind::BadInput);
        QVERIFY2(contains(part.error().message, "scan.pdf"), part.error().message.c_str());
        QVERIFY2(contains(part.error().message, "install the package tesseract-ocr-zul"), part.error().message.c_str());

        qputenv("STRATA_OCR_LANGUAGES", "chi_sim");
        const auto fromEnvironment = ingestFile(fixture("photo.png"), textOnlyModel());
        qunsetenv("STRATA_OCR_LANGUAGES");
        QVERIFY(!fromEnvironment.ok());
        QVERIFY2(contains(fromEnvironment.error().message, "tesseract-ocr-chi-sim"), fromEnvironment.error().message.c_str());

        options.ocrLanguages = "../../etc/passwd";
        const auto strange = ingestFile(fixture("scan.pdf"), textOnlyModel(), options);
        QVERIFY(!strange.ok());
        QVERIFY2(contains(strange.error().message, "not valid"), strange.error().message.c_str());
    }

    void childProcessWorkEndsAsAValue() {
        // The guard PDF pages are rendered behind: a result comes back whole, and a child that
        // crashes, hangs or is cancelled is reported as such.
        using namespace std::chrono_literals;
        const auto finished = runInChildProcess([] { return std::string(300000, 'x'); }, 10s, {}, 1 << 20);
        QCOMPARE(int(finished.ending), int(ChildOutcome::Ending::Finished));
        QCOMPARE(finished.bytes, std::string(300000, 'x'));

        const auto crashed = runInChildProcess([]() -> std::string { std::abort(); }, 10s, {}, 1 << 20);
        QCOMPARE(int(crashed.ending), int(ChildOutcome::Ending::Crashed));
        QVERIFY2(contains(crashed.detail, "signal 6"), crashed.detail.c_str());

        const auto hung = runInChildProcess([]() -> std::string { for (;;) pause(); }, 300ms, {}, 1 << 20);
        QCOMPARE(int(hung.ending), int(ChildOutcome::Ending::TimedOut));

        int polls = 0;
        const auto stopped = runInChildProcess([]() -> std::string { for (;;) pause(); }, 10s,
                                               [&] { return ++polls > 3; }, 1 << 20);
        QCOMPARE(int(stopped.ending), int(ChildOutcome::Ending::Cancelled));

        const auto large = runInChildProcess([] { return std::string(5000, 'y'); }, 10s, {}, 1000);
        QCOMPARE(int(large.ending), int(ChildOutcome::Ending::TooLarge));
    }

    void cacheFolderFollowsTheEnvironment() {
        qputenv("STRATA_OCR_CACHE_DIR", "/somewhere/ocr");
        QCOMPARE(ocrCacheFolder(), std::filesystem::path("/somewhere/ocr"));
        qunsetenv("STRATA_OCR_CACHE_DIR");
        qputenv("XDG_CACHE_HOME", "/xdg");
        QCOMPARE(ocrCacheFolder(), std::filesystem::path("/xdg/strata/ocr"));
        qunsetenv("XDG_CACHE_HOME");
        qputenv("HOME", "/home/analyst");
        QCOMPARE(ocrCacheFolder(), std::filesystem::path("/home/analyst/.cache/strata/ocr"));
        // The key holds what changes the result.
        const std::string key = ocrCacheKey("abc", "eng+deu", 300);
        QVERIFY(contains(key, "abc") && contains(key, "eng+deu") && contains(key, "300") &&
                contains(key, tesseractVersion()));
        QVERIFY(ocrCachePath(key) != ocrCachePath(ocrCacheKey("abc", "eng", 300)));
    }
};

QTEST_GUILESS_MAIN(TestIngestOcr)
#include "test_ingest_ocr.moc"
