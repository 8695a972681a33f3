// Every file named for what it is: the format detector's names from magic bytes (the extension
// only a hint), WebP, TIFF, HEIC and AVIF decoded to the pixels of the same picture as PNG, Opus
// read and M4A refused with conversion advice, archives refused by name, and compressed logs
// (.gz, .xz, .zst, .bz2, each written as two concatenated streams) giving the lines, anchors and
// text of the plain file. Damaged files of each kind are errors that name the file and the
// format; none is called binary. Fixtures: tests/tools/make_format_fixtures.py.
#include <QtTest>

#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "FileFormat.h"
#include "ImageDocument.h"
#include "LogDocument.h"
#include "PromptParts.h"

#include "../ingest_support/TextOnlyModel.h"
#include "../support/TestFiles.h"
#include "../support/TestPaths.h"

using namespace strata;
using namespace strata::testsupport;

namespace {

std::filesystem::path fixture(const char* name) { return testDataDir() / "formats" / name; }

ModelInputs mediaModel() {
    ModelInputs model = textOnlyModel();
    model.tokensPerImage = 260;
    model.imageSize = 32;
    model.tokensPerAudioChunk = 375;
    return model;
}

struct LogRead {
    std::vector<TextSpan> spans;
    Result<LogSummary> summary = internalError("not read");
    std::vector<std::pair<uint64_t, uint64_t>> progress;
};

LogRead readLog(const std::filesystem::path& file) {
    LogRead r;
    LogReadOptions options;
    options.maxSpanLines = 16;  // several spans from the small fixture
    options.blockBytes = 1024;  // several blocks, so several progress reports
    options.progress = [&](uint64_t done, uint64_t total) { r.progress.emplace_back(done, total); };
    r.summary = readLogDocument(
        file,
        [&](TextSpan&& span) {
            r.spans.push_back(std::move(span));
            return Status{};
        },
        options);
    return r;
}

std::string bytesOf(const char* name) { return readText(fixture(name)); }

// Mean absolute difference of two RGB images of one size, per channel value.
double meanDifference(const RgbImage& a, const RgbImage& b) {
    double sum = 0;
    for (size_t i = 0; i < a.pixels.size(); ++i)
        sum += std::abs(int(a.pixels[i]) - int(b.pixels[i]));
    return sum / double(a.pixels.size());
}

void verifyNotCalledBinary(const std::string& message) {
    QVERIFY2(!contains(message, "binary"), message.c_str());
}

}  // namespace

class TestIngestFormats : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() {
        if (!std::filesystem::exists(fixture("app.log")))
            QFAIL("tests/data/formats is missing; run tests/tools/make_format_fixtures.py");
    }

    void fixturesAreNamedForWhatTheyAre() {
        const std::vector<std::tuple<const char*, const char*, PartKind, FormatSupport>> expected = {
            {"pattern.png", "PNG image", PartKind::Image, FormatSupport::Read},
            {"pattern.webp", "WebP image", PartKind::Image, FormatSupport::Read},
            {"pattern.tif", "TIFF image", PartKind::Image, FormatSupport::Read},
            {"pattern.heic", "HEIC image", PartKind::Image, FormatSupport::Read},
            {"pattern.avif", "AVIF image", PartKind::Image, FormatSupport::Read},
            {"tone.m4a", "AAC audio (M4A)", PartKind::Audio, FormatSupport::Refused},
            {"tone.opus", "Opus audio", PartKind::Audio, FormatSupport::Read},
            {"app.log", "plain text", PartKind::Text, FormatSupport::Read},
            {"app.log.gz", "gzip-compressed text", PartKind::Text, FormatSupport::Read},
            {"app.log.xz", "xz-compressed text", PartKind::Text, FormatSupport::Read},
            {"app.log.zst", "zstd-compressed text", PartKind::Text, FormatSupport::Read},
            {"app.log.bz2", "bzip2-compressed text", PartKind::Text, FormatSupport::Read},
            {"logs.tar.gz", "gzip-compressed tar archive", PartKind::Text, FormatSupport::Refused},
            {"bundle.zip", "ZIP archive", PartKind::Text, FormatSupport::Refused},
            {"report.docx", "Word document (DOCX)", PartKind::Text, FormatSupport::Refused},
            {"small.pdf.gz", "gzip-compressed PDF document", PartKind::Pdf, FormatSupport::Refused},
            {"noise.bin.xz", "xz-compressed binary data", PartKind::Text, FormatSupport::UnknownBinary},
        };
        for (const auto& [name, format, kind, support] : expected) {
            const FileFormat f = detectFileFormat(fixture(name));
            QVERIFY2(f.name == format, (std::string(name) + ": " + f.name).c_str());
            QVERIFY2(f.kind == kind, name);
            QVERIFY2(f.support == support, name);
            QCOMPARE(detectPartKind(fixture(name)), kind);
        }
        // The bytes decide, not the name: a WebP called .wav is still a WebP (it starts with RIFF,
        // as WAV does), a gzip called .txt is still compressed.
        QTemporaryDir dir;
        QCOMPARE(detectFileFormat(writeFile(dir, "sound.wav", bytesOf("pattern.webp"))).name, std::string("WebP image"));
        QCOMPARE(detectFileFormat(writeFile(dir, "rotated.txt", bytesOf("app.log.gz"))).name,
                 std::string("gzip-compressed text"));
    }

    void headsWithoutFixturesAreNamedToo() {
        using namespace std::string_literals;
        std::string elf = "\x7f" "ELF\x02\x01\x01"s + std::string(57, '\0');
        std::string tar(512, '\0');
        tar.replace(0, 7, "app.log");
        tar.replace(257, 6, "ustar\0"s);
        std::string ogg = "OggS"s + std::string(22, '\0') + "\x01"s + "\x1e" + "\x01vorbis"s;
        std::string mp4 = "\0\0\0\x18" "ftypisom\0\0\x02\0isomiso2"s;
        std::string mov = "\0\0\0\x14" "ftypqt  \0\0\x02\0qt  "s;
        const std::vector<std::pair<std::string, const char*>> heads = {
            {"%PDF-1.7\n", "PDF document"},
            {"\x89PNG\r\n\x1a\n"s, "PNG image"},
            {"\xff\xd8\xff\xe0"s, "JPEG image"},
            {"GIF89a", "GIF image"},
            {"BM\x36\0\0\0\0\0\0\0\x36\0\0\0\x28\0\0\0\x01\0\0\0\x01\0\0\0\x01\0\x18\0"s, "BMP image"},
            {"II*\0"s, "TIFF image"},
            {"RIFF\x24\0\0\0WAVEfmt "s, "WAV audio"},
            {"fLaC\0\0\0\x22"s, "FLAC audio"},
            {ogg, "Ogg Vorbis audio"},
            {"ID3\x04\0\0\0\0\0\0\xff\xfb\x90\x64"s, "MP3 audio"},
            {"\xff\xfb\x90\x64"s, "MP3 audio"},
            {"\xff\xf1\x50\x80"s, "AAC audio (ADTS)"},
            {mp4, "MP4 video"},
            {mov, "QuickTime video"},
            {"\x1f\x8b\x08\0"s, "gzip-compressed data"},
            {"\xfd" "7zXZ\0"s, "xz-compressed data"},
            {"\x28\xb5\x2f\xfd"s, "zstd-compressed data"},
            {"BZh91AY&SY"s, "bzip2-compressed data"},
            {"PK\x03\x04"s, "ZIP archive"},
            {tar, "tar archive"},
            {"7z\xbc\xaf\x27\x1c"s, "7z archive"},
            {"Rar!\x1a\x07\x01\0"s, "RAR archive"},
            {elf, "ELF executable"},
            {"SQLite format 3\0"s, "SQLite database"},
            {"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"s, "Office 97-2003 document (OLE2)"},
            {"hello, world\n", "plain text"},
            {"\xff\xfe" "c\0a\0f\0\xe9\0"s, "plain text"},  // UTF-16LE: ff fe could begin an MPEG frame
            {"\xfe\xff\0c\0a"s, "plain text"},
            {"\xef\xbb\xbf" "caf\xc3\xa9"s, "plain text"},
        };
        for (const auto& [head, name] : heads) {
            const FileFormat f = detectFormatOfBytes(head, "file");
            QVERIFY2(f.name == name, (std::string(name) + " detected as " + f.name).c_str());
            if (f.support == FormatSupport::Refused) {
                QVERIFY2(contains(f.refusal, "is not supported"), f.refusal.c_str());
                verifyNotCalledBinary(f.refusal);
            }
        }
        // Ten bytes that begin like an ELF header are no executable: they stay unknown binary.
        const FileFormat fragment = detectFormatOfBytes("\x7f" "ELF\x02\x01\x01\0\0\0"s, "core.log");
        QCOMPARE(fragment.support, FormatSupport::UnknownBinary);
        QVERIFY2(contains(fragment.refusal, "looks binary (it starts with 7f 45 4c 46 02 01 01 00 00 00"),
                 fragment.refusal.c_str());
        // With no magic, the extension says what a file claims to be, and its reader judges.
        QCOMPARE(detectFormatOfBytes("not really", "scan.pdf").name, std::string("PDF document"));
        QCOMPARE(detectFormatOfBytes("just text", "notes.gz").name, std::string("plain text"));
    }

    void newImageFormatsDecodeToThePicture() {
        const auto reference = readImageFile(fixture("pattern.png"));
        QVERIFY2(reference.ok(), reference.ok() ? "" : reference.error().message.c_str());
        // An animation gives its first frame, as a GIF does.
        for (const auto& [name, tolerance] : {std::pair{"pattern.webp", 0.0}, std::pair{"animated.webp", 0.0},
                                              std::pair{"pattern.tif", 0.0},
                                              std::pair{"pattern.heic", 12.0}, std::pair{"pattern.avif", 12.0}}) {
            const auto image = readImageFile(fixture(name));
            QVERIFY2(image.ok(), image.ok() ? "" : image.error().message.c_str());
            QCOMPARE(image->width, 48);
            QCOMPARE(image->height, 32);
            const double difference = meanDifference(reference.value(), image.value());
            qInfo("%s: mean difference from the PNG %.2f per channel value", name, difference);
            QVERIFY2(difference <= tolerance, name);

            const auto part = ingestFile(fixture(name), mediaModel());
            QVERIFY2(part.ok(), part.ok() ? "" : part.error().message.c_str());
            QCOMPARE(part->kind, PartKind::Image);
            QCOMPARE(part->pixelValues.size(), size_t(3 * 32 * 32));
        }
        // The pixel limit is checked from the header, before decoding.
        ImageLimits small;
        small.maxPixels = 100;
        for (const char* name : {"pattern.webp", "pattern.tif", "pattern.heic"}) {
            const auto refused = readImageFile(fixture(name), small);
            QVERIFY(!refused.ok());
            QVERIFY2(contains(refused.error().message, "48x32 (1536 pixels), over the limit of 100"),
                     refused.error().message.c_str());
        }
    }

    void opusIsReadAndM4aRefusedWithAdvice() {
        const auto opus = ingestFile(fixture("tone.opus"), mediaModel());
        QVERIFY2(opus.ok(), opus.ok() ? "" : opus.error().message.c_str());
        QCOMPARE(opus->format, std::string("Opus audio"));
        QCOMPARE(opus->kind, PartKind::Audio);
        QVERIFY2(std::abs(opus->seconds - 1.0) < 0.05, std::to_string(opus->seconds).c_str());
        QCOMPARE(opus->audioChunks, int64_t(1));

        const auto m4a = ingestFile(fixture("tone.m4a"), mediaModel());
        QVERIFY(!m4a.ok());
        QCOMPARE(m4a.error().kind, ErrorKind::BadInput);
        QCOMPARE(m4a.error().message,
                 fixture("tone.m4a").string() +
                     ": AAC audio (M4A) is not supported; convert it to FLAC, WAV or MP3, for example with: "
                     "ffmpeg -i tone.m4a tone.flac");
    }

    void archivesAndOfficeFilesAreRefusedByName() {
        const std::vector<std::pair<const char*, const char*>> refusals = {
            {"bundle.zip", ": a ZIP archive is not supported; extract it (unzip bundle.zip) and attach the files inside"},
            {"logs.tar.gz", ": a gzip-compressed tar archive is not supported; extract it (tar -xf logs.tar.gz) and "
                            "attach the files inside"},
            {"report.docx", ": a Word document (DOCX) is not supported; convert it to PDF, for example with: "
                            "libreoffice --headless --convert-to pdf report.docx"},
            {"small.pdf.gz", ": a gzip-compressed PDF document is not supported; decompress it first (gunzip -k "
                             "small.pdf.gz) and attach what that gives"},
        };
        for (const auto& [name, message] : refusals) {
            const auto part = ingestFile(fixture(name), textOnlyModel());
            QVERIFY(!part.ok());
            QCOMPARE(part.error().kind, ErrorKind::BadInput);
            QCOMPARE(part.error().message, fixture(name).string() + message);
        }
        const auto noise = ingestFile(fixture("noise.bin.xz"), textOnlyModel());
        QVERIFY(!noise.ok());
        QVERIFY2(contains(noise.error().message, "noise.bin.xz looks binary once decompressed (it starts with 0d 6e"),
                 noise.error().message.c_str());
    }

    void compressedLogsGiveThePlainFilesLinesAndAnchors() {
        const LogRead plain = readLog(fixture("app.log"));
        QVERIFY2(plain.summary.ok(), plain.summary.ok() ? "" : plain.summary.error().message.c_str());
        QCOMPARE(plain.summary->lines, uint64_t(120));
        QVERIFY(plain.spans.size() >= 8);
        const uint64_t plainSize = std::filesystem::file_size(fixture("app.log"));
        for (const auto& [name, compression] : {std::pair{"app.log.gz", "gzip"}, std::pair{"app.log.xz", "xz"},
                                                std::pair{"app.log.zst", "zstd"}, std::pair{"app.log.bz2", "bzip2"}}) {
            const LogRead packed = readLog(fixture(name));
            QVERIFY2(packed.summary.ok(), packed.summary.ok() ? "" : packed.summary.error().message.c_str());
            QCOMPARE(packed.summary->compression, std::string(compression));
            QCOMPARE(packed.summary->lines, plain.summary->lines);
            QCOMPARE(packed.summary->bytes, plainSize);
            QCOMPARE(packed.summary->encoding, plain.summary->encoding);
            QCOMPARE(packed.spans.size(), plain.spans.size());
            for (size_t i = 0; i < plain.spans.size(); ++i) {
                QCOMPARE(packed.spans[i].text, plain.spans[i].text);
                QCOMPARE(packed.spans[i].anchor.firstLine, plain.spans[i].anchor.firstLine);
                QCOMPARE(packed.spans[i].anchor.lastLine, plain.spans[i].anchor.lastLine);
                QCOMPARE(packed.spans[i].anchor.file, fixture(name));
            }
            // Progress counts the compressed file's bytes, and ends at its size.
            const uint64_t size = std::filesystem::file_size(fixture(name));
            QVERIFY(!packed.progress.empty());
            QCOMPARE(packed.progress.back(), (std::pair<uint64_t, uint64_t>{size, size}));

            // Through ingestFile: the same text after the same anchor lines, but for the name.
            const auto part = ingestFile(fixture(name), textOnlyModel());
            const auto plainPart = ingestFile(fixture("app.log"), textOnlyModel());
            QVERIFY2(part.ok(), part.ok() ? "" : part.error().message.c_str());
            QCOMPARE(part->format, std::string(compression) + "-compressed text");
            QCOMPARE(part->compression, std::string(compression));
            QVERIFY2(contains(part->details, std::string("120 lines, UTF-8, ") + compression + "-compressed"),
                     part->details.c_str());
            std::string expected = renderTextParts({plainPart.value()});
            for (size_t at = 0; (at = expected.find("[app.log,", at)) != std::string::npos; at += 1)
                expected.replace(at, 9, "[" + std::string(name) + ",");
            QCOMPARE(renderTextParts({part.value()}), expected);
        }
    }

    void paddingAfterTheLastMemberIsSkippedAndJunkIsNot() {
        QTemporaryDir dir;
        const std::string gz = bytesOf("app.log.gz");
        const LogRead padded = readLog(writeFile(dir, "padded.log.gz", gz + std::string(700, '\0')));
        QVERIFY2(padded.summary.ok(), padded.summary.ok() ? "" : padded.summary.error().message.c_str());
        QCOMPARE(padded.summary->lines, uint64_t(120));
        const LogRead junk = readLog(writeFile(dir, "junk.log.gz", gz + "trailing words"));
        QVERIFY(!junk.summary.ok());
        QVERIFY2(contains(junk.summary.error().message, "junk.log.gz: the gzip-compressed data is damaged"),
                 junk.summary.error().message.c_str());
    }

    void truncatedAndCorruptCompressedLogsAreClearErrors() {
        QTemporaryDir dir;
        for (const auto& [name, compression] : {std::pair{"app.log.gz", "gzip"}, std::pair{"app.log.xz", "xz"},
                                                std::pair{"app.log.zst", "zstd"}, std::pair{"app.log.bz2", "bzip2"}}) {
            const std::string bytes = bytesOf(name);
            const std::string cutName = std::string("cut-") + name;
            const auto cut = ingestFile(writeFile(dir, cutName.c_str(), bytes.substr(0, bytes.size() * 3 / 4)),
                                        textOnlyModel());
            QVERIFY(!cut.ok());
            QCOMPARE(cut.error().kind, ErrorKind::BadInput);
            const std::string& message = cut.error().message;
            qInfo("%s", message.c_str());
            QVERIFY2(contains(message, cutName), message.c_str());
            QVERIFY2(contains(message, std::string(compression) + "-compressed"), message.c_str());
            QVERIFY2(contains(message, "truncated") || contains(message, "damaged"), message.c_str());
            verifyNotCalledBinary(message);

            // Bytes changed in the middle of the compressed data.
            std::string corrupt = bytes;
            for (size_t i = bytes.size() / 3; i < bytes.size() / 3 + 24; ++i)
                corrupt[i] = char(corrupt[i] ^ 0x5A);
            const std::string badName = std::string("bad-") + name;
            const auto bad = ingestFile(writeFile(dir, badName.c_str(), corrupt), textOnlyModel());
            QVERIFY(!bad.ok());
            qInfo("%s", bad.error().message.c_str());
            QVERIFY2(contains(bad.error().message, badName), bad.error().message.c_str());
            QVERIFY2(contains(bad.error().message, std::string(compression) + "-compressed"), bad.error().message.c_str());
            verifyNotCalledBinary(bad.error().message);
        }
        // The gzip trailer's own check catches a truncation that falls between members too.
        const std::string gz = bytesOf("app.log.gz");
        const auto oneByteShort = ingestFile(writeFile(dir, "short.log.gz", gz.substr(0, gz.size() - 1)), textOnlyModel());
        QVERIFY(!oneByteShort.ok());
        QVERIFY2(contains(oneByteShort.error().message, "short.log.gz: the gzip-compressed file is truncated"),
                 oneByteShort.error().message.c_str());
    }

    void mutatedFilesNeverCrashTheReaders() {
        // Bytes changed at random across each fixture: every outcome is a value, and an error
        // names the file.
        QTemporaryDir dir;
        std::mt19937 random(19);
        for (const char* name : {"pattern.webp", "pattern.tif", "pattern.heic", "pattern.avif", "app.log.gz",
                                 "app.log.xz", "app.log.zst", "app.log.bz2", "tone.opus"}) {
            const std::string bytes = bytesOf(name);
            for (int round = 0; round < 40; ++round) {
                std::string mutated = bytes;
                const int changes = 1 + int(random() % 8);
                for (int c = 0; c < changes; ++c)
                    mutated[random() % mutated.size()] = char(random() & 0xFF);
                const std::string mutatedName = "m" + std::to_string(round) + "-" + name;
                const auto part = ingestFile(writeFile(dir, mutatedName.c_str(), mutated), mediaModel());
                if (!part.ok())
                    QVERIFY2(contains(part.error().message, mutatedName), part.error().message.c_str());
            }
        }
    }

    void damagedImagesAreClearErrors() {
        QTemporaryDir dir;
        for (const auto& [name, format] : {std::pair{"pattern.webp", "WebP"}, std::pair{"pattern.tif", "TIFF"},
                                           std::pair{"pattern.heic", "HEIF"}, std::pair{"pattern.avif", "HEIF"}}) {
            const std::string bytes = bytesOf(name);
            const std::string cutName = std::string("cut-") + name;
            const auto cut = ingestFile(writeFile(dir, cutName.c_str(), bytes.substr(0, bytes.size() / 2)), mediaModel());
            QVERIFY2(!cut.ok(), name);
            qInfo("%s", cut.error().message.c_str());
            QVERIFY2(contains(cut.error().message, cutName), cut.error().message.c_str());
            QVERIFY2(contains(cut.error().message, format), cut.error().message.c_str());
            verifyNotCalledBinary(cut.error().message);

            std::string corrupt = bytes;
            for (size_t i = 40; i < corrupt.size(); i += 7)
                corrupt[i] = char(corrupt[i] ^ 0xA5);
            const std::string badName = std::string("bad-") + name;
            const auto bad = ingestFile(writeFile(dir, badName.c_str(), corrupt), mediaModel());
            qInfo("%s", bad.ok() ? (badName + ": still decodes").c_str() : bad.error().message.c_str());
            if (!bad.ok()) {
                QVERIFY2(contains(bad.error().message, badName), bad.error().message.c_str());
                QVERIFY2(contains(bad.error().message, format), bad.error().message.c_str());
                verifyNotCalledBinary(bad.error().message);
            }  // else: the damage fell where the decoder does not look (it read a picture)
        }
    }
};

QTEST_GUILESS_MAIN(TestIngestFormats)
#include "test_ingest_formats.moc"
