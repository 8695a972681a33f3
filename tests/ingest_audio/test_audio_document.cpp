#include <QByteArray>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "../support/TestFiles.h"
#include "../support/TestPaths.h"
#include "AudioDocument.h"

using namespace strata;

namespace {

const std::string kAudioDir = (strata::testsupport::testDataDir() / "audio/").string();

// Largest |ours - reference| over the stored subsample of chunk 0 (see make_audio_fixtures.py).
double maxDiffAgainstFixture(const AudioFeatures& f, const std::string& name) {
    const std::vector<float> every13 = testsupport::readF32(kAudioDir + name + "_every13.f32");
    const std::vector<float> first2 = testsupport::readF32(kAudioDir + name + "_first2.f32");
    const size_t total = size_t(f.bins * f.frames);
    if (every13.size() != (total + 12) / 13 || first2.size() != size_t(f.bins) * 2) return 1e30;
    const float* ours = f.chunk(0);
    double worst = 0;
    for (size_t i = 0; i < every13.size(); ++i) worst = std::max(worst, double(std::fabs(ours[i * 13] - every13[i])));
    for (int64_t b = 0; b < f.bins; ++b)
        for (int64_t t = 0; t < 2; ++t)
            worst = std::max(worst, double(std::fabs(ours[b * f.frames + t] - first2[size_t(b * 2 + t)])));
    return worst;
}

void putU32(QByteArray& b, uint32_t v) {
    for (int i = 0; i < 4; ++i) b.append(char((v >> (8 * i)) & 0xff));
}
void putU16(QByteArray& b, uint16_t v) {
    b.append(char(v & 0xff));
    b.append(char(v >> 8));
}

// A 16-bit PCM mono WAV whose header declares `declaredFrames` (which may exceed the samples).
QByteArray wavBytes(const std::vector<int16_t>& samples, int rate, uint32_t declaredFrames) {
    QByteArray b;
    b.append("RIFF");
    putU32(b, 36 + declaredFrames * 2);
    b.append("WAVEfmt ");
    putU32(b, 16);
    putU16(b, 1);
    putU16(b, 1);
    putU32(b, uint32_t(rate));
    putU32(b, uint32_t(rate) * 2);
    putU16(b, 2);
    putU16(b, 16);
    b.append("data");
    putU32(b, declaredFrames * 2);
    for (int16_t s : samples) putU16(b, uint16_t(s));
    return b;
}

std::string writeFile(const QTemporaryDir& dir, const char* name, const QByteArray& bytes) {
    const QString path = dir.filePath(QString::fromLatin1(name));
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly)) return {};
    f.write(bytes);
    return path.toStdString();
}

}  // namespace

class TestAudioDocument : public QObject {
    Q_OBJECT
private slots:
    void flac16kMonoMatchesWhisperExtractor() {
        auto r = readAudioFeatures(kAudioDir + "chirp_16k_mono.flac");
        QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
        QCOMPARE(r->chunks, int64_t(1));
        QCOMPARE(r->bins, int64_t(128));
        QCOMPARE(r->frames, int64_t(3000));
        QCOMPARE(r->logMel.size(), size_t(128 * 3000));
        QCOMPARE(r->sampleRate, 16000);
        QCOMPARE(r->channels, 1);
        QCOMPARE(r->durationSeconds, 1.0);
        QCOMPARE(r->anchors.size(), size_t(1));
        QCOMPARE(r->anchors[0].startSeconds, 0.0);
        QCOMPARE(r->anchors[0].endSeconds, 1.0);
        const double diff = maxDiffAgainstFixture(*r, "chirp_16k_mono");
        qInfo("16 kHz mono FLAC: max |ours - transformers| = %.3g", diff);
        QVERIFY(diff <= 1e-3);
    }

    void wav44kStereoIsDownmixedAndResampled() {
        auto r = readAudioFeatures(kAudioDir + "chirp_44k_stereo.wav");
        QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
        QCOMPARE(r->chunks, int64_t(1));
        QCOMPARE(r->sampleRate, 44100);
        QCOMPARE(r->channels, 2);
        QCOMPARE(r->durationSeconds, 1.5);
        QCOMPARE(r->anchors[0].endSeconds, 1.5);
        auto mono = readAudioMono16k(kAudioDir + "chirp_44k_stereo.wav");
        QVERIFY(mono.ok());
        QVERIFY(std::abs(int64_t(mono->size()) - 24000) <= 1);
        // The reference resampled with python-soxr's one-shot HQ; ours streams through the same
        // library, so only the last ulps of the filter differ.
        const double diff = maxDiffAgainstFixture(*r, "chirp_44k_stereo");
        qInfo("44.1 kHz stereo WAV: max |ours - transformers on soxr HQ| = %.3g", diff);
        QVERIFY(diff <= 1e-3);
    }

    void oggVorbisDecodes() {
        auto r = readAudioFeatures(kAudioDir + "tone_16k_mono.ogg");
        if (!r.ok()) QSKIP(("this libsndfile cannot read OGG/Vorbis: " + r.error().message).c_str());
        QCOMPARE(r->chunks, int64_t(1));
        QVERIFY(std::abs(r->durationSeconds - 1.0) < 0.01);
    }

    void mp3Decodes() {
        auto r = readAudioFeatures(kAudioDir + "tone_16k_mono.mp3");
        if (!r.ok()) QSKIP(("this libsndfile cannot read MP3: " + r.error().message).c_str());
        QCOMPARE(r->chunks, int64_t(1));
        QCOMPARE(r->sampleRate, 16000);
        qInfo("MP3 duration %.4f s (1 s encoded)", r->durationSeconds);
        QVERIFY(std::abs(r->durationSeconds - 1.0) < 0.1);
    }

    void longAudioSplitsIntoChunks() {
        QTemporaryDir dir;
        const int seconds = 65;
        std::vector<int16_t> samples(size_t(seconds) * 16000);
        for (size_t i = 0; i < samples.size(); ++i)
            samples[i] = int16_t(8000 * std::sin(2 * M_PI * (200.0 + double(i) / 400.0) * double(i) / 16000.0));
        const std::string path = writeFile(dir, "long.wav", wavBytes(samples, 16000, uint32_t(samples.size())));
        int progressCalls = 0;
        AudioReadOptions options;
        options.progress = [&](uint64_t done, uint64_t total) {
            ++progressCalls;
            QVERIFY(done <= total);
        };
        auto r = readAudioFeatures(path, options);
        QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
        QVERIFY(progressCalls > 0);
        QCOMPARE(r->chunks, int64_t(3));
        QCOMPARE(r->logMel.size(), size_t(3 * 128 * 3000));
        QCOMPARE(r->anchors.size(), size_t(3));
        QCOMPARE(r->anchors[1].startSeconds, 30.0);
        QCOMPARE(r->anchors[1].endSeconds, 60.0);
        QCOMPARE(r->anchors[2].endSeconds, 65.0);
        QCOMPARE(QString::fromStdString(describe(r->anchors[2])), QString("long.wav, 1:00-1:05"));

        // One floor over all three chunks: the zero padding after 65 s sits on it, and nothing is
        // below it or more than 2 (8 in log10, scaled by 1/4) above it.
        const auto [lo, hi] = std::minmax_element(r->logMel.begin(), r->logMel.end());
        QCOMPARE(*lo, r->chunk(2)[127 * 3000 + 2999]);
        QVERIFY(std::fabs((*hi - *lo) - 2.0f) < 1e-5f);
    }

    void longFlacMatchesVoxtralProcessor() {
        // 45 s: two chunks, which transformers' VoxtralProcessor computes in one pass over the
        // signal zero-padded to 60 s (see make_audio_fixtures.py).
        const std::string name = "tones_45s_16k_mono";
        auto r = readAudioFeatures(kAudioDir + name + ".flac");
        QVERIFY2(r.ok(), r.ok() ? "" : r.error().message.c_str());
        QCOMPARE(r->chunks, int64_t(2));
        QCOMPARE(r->logMel.size(), size_t(2 * 128 * 3000));
        QCOMPARE(r->durationSeconds, 45.0);
        QCOMPARE(r->anchors.size(), size_t(2));
        QCOMPARE(r->anchors[0].endSeconds, 30.0);
        QCOMPARE(r->anchors[1].startSeconds, 30.0);
        QCOMPARE(r->anchors[1].endSeconds, 45.0);

        const std::vector<float> every31 = testsupport::readF32(kAudioDir + name + "_every31.f32");
        const std::vector<float> edges = testsupport::readF32(kAudioDir + name + "_edges.f32");
        QCOMPARE(every31.size(), (r->logMel.size() + 30) / 31);
        QCOMPARE(edges.size(), size_t(128 * 24));
        double sampled = 0;
        for (size_t i = 0; i < every31.size(); ++i)
            sampled = std::max(sampled, double(std::fabs(r->logMel[i * 31] - every31[i])));
        // Per bin: chunk 0 frames 0-1, 2990-2999, chunk 1 frames 0-9, 2998-2999.
        auto edgeDiff = [&](const float* chunk0, const float* chunk1) {
            double worst = 0;
            for (int64_t b = 0; b < 128; ++b) {
                const float* want = edges.data() + b * 24;
                auto at = [&](int64_t j) -> float {
                    if (j < 2) return chunk0[b * 3000 + j];
                    if (j < 12) return chunk0[b * 3000 + 2988 + j];
                    if (j < 22) return chunk1[b * 3000 + j - 12];
                    return chunk1[b * 3000 + 2976 + j];
                };
                for (int64_t j = 0; j < 24; ++j) worst = std::max(worst, double(std::fabs(at(j) - want[j])));
            }
            return worst;
        };
        const double edge = edgeDiff(r->chunk(0), r->chunk(1));
        qInfo("45 s FLAC, 2 chunks: max |ours - VoxtralProcessor| = %.3g (every 31st value), %.3g (edge frames)",
              sampled, edge);
        QVERIFY(sampled <= 1e-3);
        QVERIFY(edge <= 1e-3);

        // Each chunk on its own (its own reflection and floor) is not what the processor computes:
        // the fixture does tell the two apart.
        auto mono = readAudioMono16k(kAudioDir + name + ".flac");
        QVERIFY(mono.ok());
        QCOMPARE(mono->size(), size_t(45 * 16000));
        std::vector<float> alone(2 * 128 * 3000);
        whisperLogMel(mono->data(), 480000, alone.data());
        whisperLogMel(mono->data() + 480000, mono->size() - 480000, alone.data() + 128 * 3000);
        const double aloneDiff = edgeDiff(alone.data(), alone.data() + 128 * 3000);
        qInfo("chunks computed apart: max |diff| = %.3g at the edge frames", aloneDiff);
        QVERIFY(aloneDiff > 0.05);
    }

    void badFilesAreNamedErrors() {
        QTemporaryDir dir;
        struct Case {
            const char* name;
            QByteArray bytes;
            const char* expect;
        };
        std::vector<int16_t> few(1000, 100);
        const std::vector<Case> cases = {
            {"empty.wav", QByteArray(), "empty"},
            {"noise.wav", QByteArray(4096, 'x'), "not in a supported audio format"},
            {"lying.wav", wavBytes(few, 16000, 100000), "truncated"},
            {"nodata.wav", wavBytes({}, 16000, 0), "no audio"},
        };
        for (const Case& c : cases) {
            const std::string path = writeFile(dir, c.name, c.bytes);
            auto r = readAudioFeatures(path);
            QVERIFY2(!r.ok(), c.name);
            QCOMPARE(r.error().kind, ErrorKind::BadInput);
            const QString msg = QString::fromStdString(r.error().message);
            QVERIFY2(msg.contains(c.name) && msg.contains(c.expect), qPrintable(msg));
        }
        auto missing = readAudioFeatures(dir.filePath("missing.wav").toStdString());
        QVERIFY(!missing.ok());
        QVERIFY(QString::fromStdString(missing.error().message).contains("missing.wav"));
    }
};

QTEST_GUILESS_MAIN(TestAudioDocument)
#include "test_audio_document.moc"
