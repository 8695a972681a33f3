#include "AudioDocument.h"

#include <sndfile.h>
#include <soxr.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <complex>
#include <cstdio>
#include <functional>
#include <memory>
#include <numbers>
#include <string>
#include <system_error>

namespace strata {
namespace {

constexpr int kFftSize = 400;
constexpr int kHop = 160;
constexpr int kFreqBins = kFftSize / 2 + 1;
constexpr sf_count_t kBlockFrames = 8192;

std::string quoted(const std::filesystem::path& file) { return "'" + file.string() + "'"; }

// Slaney's mel scale: linear below 1 kHz, logarithmic above.
double hertzToMel(double hz) {
    constexpr double kMinLogHz = 1000.0, kMinLogMel = 15.0;
    const double logStep = 27.0 / std::log(6.4);
    if (hz < kMinLogHz) return 3.0 * hz / 200.0;
    return kMinLogMel + std::log(hz / kMinLogHz) * logStep;
}

double melToHertz(double mel) {
    constexpr double kMinLogHz = 1000.0, kMinLogMel = 15.0;
    const double logStep = std::log(6.4) / 27.0;
    if (mel < kMinLogMel) return 200.0 * mel / 3.0;
    return kMinLogHz * std::exp(logStep * (mel - kMinLogMel));
}

// The constant tables: window, mel filters (slaney scale and area norm, 0-8 kHz, stored float32
// like transformers' filter bank) and the FFT's roots of unity.
struct MelTables {
    std::array<double, kFftSize> window{};
    std::vector<float> filters;  // [kWhisperMelBins][kFreqBins]
    std::array<std::complex<double>, kFftSize> roots{};

    MelTables() : filters(size_t(kWhisperMelBins) * kFreqBins, 0.0f) {
        // Periodic Hann: the symmetric window of length N+1 without its last point.
        for (int n = 0; n < kFftSize; ++n)
            window[size_t(n)] = 0.5 - 0.5 * std::cos(2.0 * std::numbers::pi * n / kFftSize);
        for (int k = 0; k < kFftSize; ++k)
            roots[size_t(k)] = std::polar(1.0, -2.0 * std::numbers::pi * k / kFftSize);

        const int m = int(kWhisperMelBins);
        const double melMin = hertzToMel(0.0), melMax = hertzToMel(8000.0);
        std::vector<double> edges(size_t(m) + 2);
        const double melStep = (melMax - melMin) / (m + 1);
        for (int i = 0; i < m + 2; ++i) edges[size_t(i)] = melToHertz(melMin + i * melStep);
        for (int f = 0; f < kFreqBins; ++f) {
            const double hz = double(kWhisperSampleRate / 2) * f / (kFreqBins - 1);
            for (int i = 0; i < m; ++i) {
                const double lo = edges[size_t(i)], mid = edges[size_t(i) + 1], hi = edges[size_t(i) + 2];
                const double down = (hz - lo) / (mid - lo);
                const double up = (hi - hz) / (hi - mid);
                const double weight = std::max(0.0, std::min(down, up));
                // Rounded to float32 before and after the area norm, as the reference does.
                filters[size_t(i) * kFreqBins + size_t(f)] = float(double(float(weight)) * (2.0 / (hi - lo)));
            }
        }
    }
};

const MelTables& melTables() {
    static const MelTables tables;
    return tables;
}

// Mixed-radix decimation-in-time FFT for the sizes whose factors are 2 and 5 (400 = 2^4 * 5^2).
// `roots` holds the kFftSize-th roots of unity; a sub-transform of size n uses every
// (kFftSize/n)-th one.
void fft(const std::complex<double>* in, size_t stride, std::complex<double>* out, int n,
         const std::array<std::complex<double>, kFftSize>& roots) {
    if (n == 1) {
        out[0] = in[0];
        return;
    }
    const int p = (n % 4 == 0) ? 4 : (n % 2 == 0 ? 2 : 5);
    const int m = n / p;
    for (int q = 0; q < p; ++q) fft(in + size_t(q) * stride, stride * size_t(p), out + q * m, m, roots);
    const int step = kFftSize / n;
    std::complex<double> terms[5];
    for (int k = 0; k < m; ++k) {
        for (int q = 0; q < p; ++q) terms[q] = out[q * m + k];
        for (int s = 0; s < p; ++s) {
            const int j = k + s * m;
            std::complex<double> acc = terms[0];
            for (int q = 1; q < p; ++q) acc += terms[q] * roots[size_t((q * j) % n * step)];
            out[j] = acc;
        }
    }
}

constexpr int64_t kPad = kFftSize / 2;  // the STFT's centring: half a window either side
constexpr int64_t kPerChunk = kWhisperMelBins * kWhisperFrames;

// One chunk's log10 mel power, before the floor and scaling: `padded` holds the chunk's 480000
// samples with kPad samples of context before and after (the neighbouring chunks' samples, or
// the reflection at either end of the whole padded signal). Frame f is centred on sample f * 160
// of the chunk; the STFT's frame centred on the chunk's end belongs to the next chunk (or, after
// the last chunk, is dropped). Writes kWhisperMelBins x kWhisperFrames floats to out and raises
// maxLog to the largest value seen.
void rawLogMel(const float* padded, float* out, double& maxLog) {
    const MelTables& t = melTables();
    std::vector<std::complex<double>> frame(kFftSize), spectrum(kFftSize);
    std::array<double, kFreqBins> power{};
    for (int64_t f = 0; f < kWhisperFrames; ++f) {
        const float* src = padded + f * kHop;
        for (int n = 0; n < kFftSize; ++n) frame[size_t(n)] = double(src[n]) * t.window[size_t(n)];
        fft(frame.data(), 1, spectrum.data(), kFftSize, t.roots);
        for (int k = 0; k < kFreqBins; ++k) {
            // The extractor keeps the spectrum as complex64 before taking |.|^2 in float64.
            const std::complex<float> c(spectrum[size_t(k)]);
            const double re = c.real(), im = c.imag();
            power[size_t(k)] = re * re + im * im;
        }
        for (int64_t b = 0; b < kWhisperMelBins; ++b) {
            const float* w = t.filters.data() + b * kFreqBins;
            double mel = 0;
            for (int k = 0; k < kFreqBins; ++k) mel += double(w[k]) * power[size_t(k)];
            const double lg = std::log10(std::max(mel, 1e-10));
            maxLog = std::max(maxLog, lg);
            out[b * kWhisperFrames + f] = float(lg);
        }
    }
}

// Whisper's dynamic range and scaling over all the features at once: max(x, max - 8), then
// (x + 4) / 4.
void floorAndScale(float* values, size_t count, double maxLog) {
    const double floor = maxLog - 8.0;
    for (size_t i = 0; i < count; ++i) values[i] = float((std::max(double(values[i]), floor) + 4.0) / 4.0);
}

// Reflect-pads the first chunk's start: buffer[kPad - i] = buffer[kPad + i].
void reflectStart(float* buffer) {
    for (int64_t i = 1; i <= kPad; ++i) buffer[kPad - i] = buffer[kPad + i];
}

// Reflect-pads the last chunk's end (the end of the whole zero-padded signal).
void reflectEnd(float* buffer) {
    const int64_t last = kPad + kWhisperChunkSamples - 1;
    for (int64_t i = 1; i <= kPad; ++i) buffer[last + i] = buffer[last - i];
}

}  // namespace

void whisperLogMel(const float* samples, size_t count, float* out) {
    count = std::min(count, size_t(kWhisperChunkSamples));
    // The chunk zero-padded to 30 s, then reflect-padded by half a window on both sides
    // (center=True), as the extractor pads before its STFT.
    std::vector<float> padded(size_t(kWhisperChunkSamples + 2 * kPad), 0.0f);
    std::copy(samples, samples + count, padded.begin() + kPad);
    reflectStart(padded.data());
    reflectEnd(padded.data());
    double maxLog = -1e30;
    rawLogMel(padded.data(), out, maxLog);
    floorAndScale(out, size_t(kPerChunk), maxLog);
}

namespace {

struct SndfileCloser {
    void operator()(SNDFILE* f) const { sf_close(f); }
};
struct SoxrDeleter {
    void operator()(soxr* s) const { soxr_delete(s); }
};

// libsndfile accepts a WAV whose data chunk claims more bytes than the file holds and quietly reads
// what is there; its header log keeps the claim ("data : 200000 (should be 2000)"). A claim of 0
// or 0xFFFFFFFF is how streaming writers say "length unknown", so only other sizes count as a lie.
bool dataChunkOverstated(SNDFILE* snd, uint64_t* declared, uint64_t* present) {
    std::string log(16384, '\0');
    sf_command(snd, SFC_GET_LOG_INFO, log.data(), int(log.size()));
    log.resize(log.find('\0') == std::string::npos ? log.size() : log.find('\0'));
    size_t line = 0;
    while (line < log.size()) {
        size_t end = log.find('\n', line);
        if (end == std::string::npos) end = log.size();
        const std::string text = log.substr(line, end - line);
        line = end + 1;
        unsigned long long claimed = 0, actual = 0;
        if (std::sscanf(text.c_str(), "data : %llu (should be %llu)", &claimed, &actual) == 2 &&
            claimed != 0 && claimed != 0xFFFFFFFFull && claimed > actual) {
            *declared = claimed;
            *present = actual;
            return true;
        }
    }
    return false;
}

struct SourceInfo {
    int sampleRate = 0;
    int channels = 0;
    int64_t frames = 0;
};

// Decodes the file block by block and hands 16 kHz mono samples to `sink`; `onInfo` runs once the
// header is known (and may refuse the file).
Status streamMono16k(const std::filesystem::path& file, const AudioReadOptions& options,
                     const std::function<Status(const SourceInfo&)>& onInfo,
                     const std::function<void(const float*, size_t)>& sink) {
    std::error_code ec;
    const auto bytes = std::filesystem::file_size(file, ec);
    if (ec) return badInput("cannot read audio file " + quoted(file) + ": " + ec.message());
    if (bytes == 0) return badInput("audio file " + quoted(file) + " is empty (0 bytes)");

    SF_INFO info{};
    std::unique_ptr<SNDFILE, SndfileCloser> snd(sf_open(file.string().c_str(), SFM_READ, &info));
    if (!snd)
        return badInput("audio file " + quoted(file) + " is not in a supported audio format or is damaged: " +
                        sf_strerror(nullptr));
    uint64_t declared = 0, present = 0;
    if (dataChunkOverstated(snd.get(), &declared, &present))
        return badInput("audio file " + quoted(file) + " is truncated: its header declares " + std::to_string(declared) +
                        " bytes of audio data but the file holds only " + std::to_string(present));
    if (info.channels <= 0 || info.samplerate <= 0 || info.frames < 0)
        return badInput("audio file " + quoted(file) + " has a bad header (" + std::to_string(info.channels) +
                        " channels, " + std::to_string(info.samplerate) + " Hz)");
    if (info.channels > 64)
        return badInput("audio file " + quoted(file) + " has " + std::to_string(info.channels) +
                        " channels; at most 64 are supported");
    if (info.frames == 0) return badInput("audio file " + quoted(file) + " holds no audio samples");
    const double seconds = double(info.frames) / info.samplerate;
    if (seconds > options.maxSeconds)
        return badInput("audio file " + quoted(file) + " is " + std::to_string(seconds) + " s long; the limit is " +
                        std::to_string(options.maxSeconds) + " s");
    STRATA_TRY(onInfo(SourceInfo{info.samplerate, info.channels, int64_t(info.frames)}));

    std::unique_ptr<soxr, SoxrDeleter> resampler;
    if (info.samplerate != kWhisperSampleRate) {
        soxr_error_t err = nullptr;
        const soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
        const soxr_quality_spec_t quality = soxr_quality_spec(SOXR_HQ, 0);
        resampler.reset(soxr_create(double(info.samplerate), double(kWhisperSampleRate), 1, &err, &io, &quality,
                                    nullptr));
        if (!resampler || err)
            return internalError("cannot set up resampling of " + quoted(file) + " from " +
                                 std::to_string(info.samplerate) + " Hz: " + (err ? err : "unknown error"));
    }

    std::vector<float> interleaved(static_cast<size_t>(kBlockFrames) * size_t(info.channels));
    std::vector<float> mono(static_cast<size_t>(kBlockFrames));
    // Room for one block's output plus the resampler's latency.
    std::vector<float> resampled(size_t(double(kBlockFrames) * kWhisperSampleRate / info.samplerate) + 4096);
    auto resample = [&](const float* in, size_t n) -> Status {
        // With in == nullptr soxr flushes; loop until it has nothing left to give.
        size_t consumed = 0;
        for (;;) {
            size_t used = 0, produced = 0;
            soxr_error_t err = soxr_process(resampler.get(), in ? in + consumed : nullptr, in ? n - consumed : 0,
                                            &used, resampled.data(), resampled.size(), &produced);
            if (err) return internalError("resampling " + quoted(file) + " failed: " + err);
            consumed += used;
            if (produced) sink(resampled.data(), produced);
            if (in ? (consumed >= n && produced < resampled.size()) : produced == 0) return {};
        }
    };

    int64_t done = 0;
    while (done < info.frames) {
        const sf_count_t want = std::min<sf_count_t>(kBlockFrames, info.frames - done);
        const sf_count_t got = sf_readf_float(snd.get(), interleaved.data(), want);
        if (got <= 0) break;
        const int ch = info.channels;
        for (sf_count_t i = 0; i < got; ++i) {
            double sum = 0;
            for (int c = 0; c < ch; ++c) sum += interleaved[size_t(i) * size_t(ch) + size_t(c)];
            mono[size_t(i)] = float(sum / ch);
        }
        if (resampler)
            STRATA_TRY(resample(mono.data(), size_t(got)));
        else
            sink(mono.data(), size_t(got));
        done += got;
        if (options.progress) options.progress(uint64_t(done), uint64_t(info.frames));
    }
    if (done < info.frames) {
        const int code = sf_error(snd.get());
        return badInput("audio file " + quoted(file) + " is truncated or damaged: its header declares " +
                        std::to_string(info.frames) + " frames but only " + std::to_string(done) +
                        " could be read" + (code ? std::string(" (") + sf_strerror(snd.get()) + ")" : ""));
    }
    if (resampler) STRATA_TRY(resample(nullptr, 0));
    return {};
}

}  // namespace

Result<std::vector<float>> readAudioMono16k(const std::filesystem::path& file, const AudioReadOptions& options) {
    std::vector<float> out;
    STRATA_TRY(streamMono16k(
        file, options,
        [&](const SourceInfo& info) -> Status {
            out.reserve(size_t(double(info.frames) * kWhisperSampleRate / info.sampleRate) + 16);
            return {};
        },
        [&](const float* s, size_t n) { out.insert(out.end(), s, s + n); }));
    return out;
}

Result<AudioFeatures> readAudioFeatures(const std::filesystem::path& file, const AudioReadOptions& options) {
    // As transformers' VoxtralProcessor computes them: one STFT over the whole signal zero-padded
    // to a multiple of 30 s, cut into chunks of 3000 frames afterwards, so a frame near a chunk
    // boundary sees the neighbouring chunk's samples (the reflection is only at the two ends of
    // the padded signal), and one floor (max - 8) taken over all the chunks. Streamed: `window`
    // holds the current chunk with kPad samples of context either side; a chunk's raw log10 mel
    // is computed once the next chunk's first kPad samples are in, and the floor is applied at
    // the end.
    AudioFeatures features;
    std::vector<float> window(size_t(kWhisperChunkSamples + 2 * kPad), 0.0f);
    size_t filled = 0;  // samples stored from window[kPad] on: the chunk's, then the next one's
    int64_t total = 0;  // 16 kHz samples received
    double maxLog = -1e30;
    const size_t full = size_t(kWhisperChunkSamples + kPad);
    auto emit = [&](bool last) {
        const int64_t index = features.chunks++;
        if (index == 0) reflectStart(window.data());
        if (last) reflectEnd(window.data());
        features.logMel.resize(size_t(features.chunks * kPerChunk));
        rawLogMel(window.data(), features.logMel.data() + index * kPerChunk, maxLog);
        SourceAnchor anchor;
        anchor.file = file;
        anchor.startSeconds = double(index * kWhisperChunkSamples) / kWhisperSampleRate;
        const int64_t inChunk = std::clamp<int64_t>(total - index * kWhisperChunkSamples, 0, kWhisperChunkSamples);
        anchor.endSeconds = double(index * kWhisperChunkSamples + inChunk) / kWhisperSampleRate;
        features.anchors.push_back(std::move(anchor));
        // The last 2 * kPad samples (this chunk's tail, the next one's head) become the next
        // chunk's leading context and first samples.
        std::copy(window.end() - 2 * kPad, window.end(), window.begin());
        filled = size_t(kPad);
    };
    STRATA_TRY(streamMono16k(
        file, options,
        [&](const SourceInfo& info) -> Status {
            features.sampleRate = info.sampleRate;
            features.channels = info.channels;
            features.durationSeconds = double(info.frames) / info.sampleRate;
            const double samples16k = double(info.frames) * kWhisperSampleRate / info.sampleRate;
            const auto expected = size_t(std::ceil(samples16k / double(kWhisperChunkSamples)));
            features.logMel.reserve(expected * size_t(kPerChunk));
            return {};
        },
        [&](const float* s, size_t n) {
            total += int64_t(n);
            while (n > 0) {
                const size_t take = std::min(n, full - filled);
                std::copy(s, s + take, window.begin() + kPad + ptrdiff_t(filled));
                s += take;
                n -= take;
                filled += take;
                if (filled == full) emit(false);
            }
        }));
    // The rest is the zero padding up to the next multiple of 30 s. A chunk followed by fewer
    // than kPad samples still has a successor, whose start is zeros past the end of the audio.
    std::fill(window.begin() + kPad + ptrdiff_t(filled), window.end(), 0.0f);
    if (filled > size_t(kWhisperChunkSamples)) {
        emit(false);
        std::fill(window.begin() + 2 * kPad, window.end(), 0.0f);
    }
    if (filled > 0 || features.chunks == 0) emit(true);
    floorAndScale(features.logMel.data(), features.logMel.size(), maxLog);
    // The last anchor ends where the source ends, not where the resampler's rounding put it.
    features.anchors.back().endSeconds = std::max(features.anchors.back().startSeconds, features.durationSeconds);
    return features;
}

}  // namespace strata
