#pragma once
// Audio files (whatever the installed libsndfile reads: WAV, FLAC, OGG/Vorbis, MP3 ...) turned into
// Whisper's input: 128-bin log-mel features over 30-second chunks of 16 kHz mono audio, computed
// the way transformers' VoxtralProcessor does (WhisperFeatureExtractor(feature_size=128) run once
// over the whole signal zero-padded to a multiple of 30 s, its frames then cut into chunks of
// 3000), so that an audio encoder sees the numbers it was trained on.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <vector>

#include "SourceAnchor.h"
#include "core/Result.h"

namespace strata {

constexpr int kWhisperSampleRate = 16000;
constexpr int64_t kWhisperChunkSamples = 480000;  // 30 s at 16 kHz
constexpr int64_t kWhisperMelBins = 128;
constexpr int64_t kWhisperFrames = 3000;  // per chunk, hop 160

struct AudioFeatures {
    int64_t chunks = 0;
    int64_t bins = kWhisperMelBins;
    int64_t frames = kWhisperFrames;
    std::vector<float> logMel;  // [chunks][bins][frames]
    double durationSeconds = 0;  // of the source audio
    int sampleRate = 0;          // of the source file
    int channels = 0;            // of the source file
    std::vector<SourceAnchor> anchors;  // one per chunk: the file and the chunk's time range

    const float* chunk(int64_t i) const { return logMel.data() + i * bins * frames; }
};

struct AudioReadOptions {
    // Longer audio is refused up front, since the features cost 1.5 MB per 30 s.
    double maxSeconds = 4 * 3600.0;
    IngestProgress progress;  // source frames done of total
};

// Decodes, downmixes (mean of the channels), resamples to 16 kHz (libsoxr, high quality, streamed)
// and computes the features chunk by chunk; memory beyond the result stays bounded (one chunk of
// samples). The features are those of one STFT over the whole signal: frames near a chunk
// boundary see the neighbouring chunk's samples, the reflect padding is only at the start of the
// first chunk and the end of the last, and the floor (max - 8 in log10) uses the maximum over all
// chunks. For audio of at most 30 s this is exactly whisperLogMel of the samples. An empty,
// truncated, unreadable or unsupported file is a badInput error naming the file.
Result<AudioFeatures> readAudioFeatures(const std::filesystem::path& file,
                                        const AudioReadOptions& options = {});

// The same decode, downmix and resampling, returning the 16 kHz mono samples (for tests and tools;
// holds the whole signal in memory).
Result<std::vector<float>> readAudioMono16k(const std::filesystem::path& file,
                                            const AudioReadOptions& options = {});

// Whisper log-mel features of one chunk on its own: `count` <= kWhisperChunkSamples samples at
// 16 kHz (more are ignored), zero-padded to 30 s, reflect-padded at both ends and floored with its
// own maximum; writes kWhisperMelBins x kWhisperFrames floats to out. This is
// WhisperFeatureExtractor's output for audio of at most 30 s; for longer audio the chunks of
// readAudioFeatures differ from it near the boundaries and in the floor.
void whisperLogMel(const float* samples, size_t count, float* out);

}  // namespace strata
