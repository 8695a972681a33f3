// Time of the image and audio encoders at full model size, on the CPU or (with --vram-budget) on
// the CUDA backend. Writes two random-weight checkpoints (bf16 safetensors + config.json, the
// encoder and projector tensors only, no text decoder): Gemma 3 12B's image side (SigLIP so400m:
// hidden 1152, ffn 4304, 27 layers, 16 heads, 896 px in 14 px patches; projected to text hidden
// 3840) and Voxtral Mini 3B's audio side (Whisper-style: hidden 1280, ffn 5120, 32 layers, 20
// heads, 128 mel bins, 1500 positions; projected to text hidden 3072). The files are evicted from
// the page cache after writing, so the first encode reads them from the disk.
//
// Measures, through MediaEncoders as strata-cli uses it (each encode reads the tower's weights
// again, from the page cache after the first):
//   - the first encodeImage and a second one;
//   - the first encodeAudio of 30 s (one chunk of 128 x 3000 log-mel frames), a second one, and
//     one of 45 s (two chunks, one pass over the weights);
//   - in the same run, the backend's matmul rate with a bf16 weight ([4096 x 1152] x
//     [1152 x 4304]), against which the encoders' rate is put (FLOPs counted as
//     2 * linear weights * rows plus 4 * n^2 * hidden per layer for attention);
//   - where the tower's units were (VRAM, RAM, disk) and the bytes read and copied to the device;
//   - the peak resident set (VmHWM) of each side, reset between them where the kernel allows.
// Prints the figures and writes them as JSON. On 2 cores with OPENBLAS_NUM_THREADS=2 a CPU run
// takes a few minutes and the checkpoints take about 2.2 GB of disk, removed at the end unless
// --keep. A VRAM budget below the towers' size (0.8 and 1.2 GiB) streams their layers.
//   bench_media_encoders [--dir D] [--json OUT] [--keep] [--reuse] [--skip-image] [--skip-audio]
//                        [--vram-budget B]
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <algorithm>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "backend/cpu/CpuOps.h"
#include "core/DType.h"
#include "core/ProcessMemory.h"
#include "format/SafetensorsWriter.h"
#include "multimodal/MediaEncoders.h"
#include "runtime/ResidencyPlan.h"
#include "vision/SiglipVisionEncoder.h"
#include "audio/VoxtralAudioEncoder.h"
#include "core/ByteSize.h"
#ifdef STRATA_HAVE_CUDA
#include "CudaOps.h"
#endif

using namespace strata;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

double secondsSince(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// splitmix64: fast, reproducible, good enough for weights that only need to be small and varied.
struct Rng {
    uint64_t state;
    uint64_t next() {
        uint64_t z = (state += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    // Uniform in [-1, 1).
    float symmetric() { return float(double(next() >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f; }
};

enum class Fill { Random, Ones, Zeros };

struct Planned {
    SafetensorsEntry entry;
    Fill fill = Fill::Random;
};

void add(std::vector<Planned>& plan, const std::string& name, std::vector<int64_t> shape, Fill fill = Fill::Random) {
    plan.push_back(Planned{SafetensorsEntry{name, DType::BF16, std::move(shape)}, fill});
}
void addNorm(std::vector<Planned>& plan, const std::string& name, int64_t dim) {
    add(plan, name + ".weight", {dim}, Fill::Ones);
    add(plan, name + ".bias", {dim}, Fill::Zeros);
}
void addLinear(std::vector<Planned>& plan, const std::string& name, int64_t out, int64_t in, bool bias = true) {
    add(plan, name + ".weight", {out, in});
    if (bias) add(plan, name + ".bias", {out}, Fill::Zeros);
}

// Writes the tensors one at a time (at most one tensor's bytes in memory): random ones uniform
// with standard deviation 0.02, LayerNorm gains 1, biases 0. Then drops the file from the page
// cache so that the first load reads it from the disk.
bool writeCheckpoint(const fs::path& dir, const json& config, const std::vector<Planned>& plan, uint64_t seed,
                     uint64_t& bytesWritten) {
    fs::create_directories(dir);
    {
        std::ofstream out(dir / "config.json", std::ios::trunc);
        out << config.dump(2) << '\n';
        if (!out) return false;
    }
    std::vector<SafetensorsEntry> entries;
    for (const Planned& p : plan) entries.push_back(p.entry);
    Rng rng{seed};
    const float amplitude = 0.02f * std::sqrt(3.0f);
    const fs::path path = dir / "model.safetensors";
    const Status written = writeSafetensors(path, entries, [&](size_t i, std::vector<uint8_t>& bytes) -> Status {
        const Planned& p = plan[i];
        const uint64_t count = p.entry.nbytes() / 2;
        bytes.resize(size_t(count * 2));
        const uint16_t one = floatToBf16(1.0f), zero = floatToBf16(0.0f);
        for (uint64_t k = 0; k < count; ++k) {
            const uint16_t h = p.fill == Fill::Ones    ? one
                               : p.fill == Fill::Zeros ? zero
                                                       : floatToBf16(rng.symmetric() * amplitude);
            std::memcpy(bytes.data() + 2 * k, &h, 2);
        }
        return {};
    });
    if (!written.ok()) {
        std::fprintf(stderr, "writing %s failed: %s\n", path.c_str(), written.error().message.c_str());
        return false;
    }
    bytesWritten = fs::file_size(path);
    const int fd = ::open(path.c_str(), O_RDONLY);
    if (fd >= 0) {
        ::fdatasync(fd);
        ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        ::close(fd);
    }
    return true;
}

// Gemma 3 12B's image side under transformers' saved names, with what the config parser reads.
std::vector<Planned> gemma3VisionPlan(json& config) {
    const int64_t h = 1152, ff = 4304, layers = 27, heads = 16, image = 896, patch = 14, textHidden = 3840;
    config = {{"architectures", {"Gemma3ForConditionalGeneration"}},
              {"model_type", "gemma3"},
              {"mm_tokens_per_image", 256},
              {"boi_token_index", 255999},
              {"eoi_token_index", 256000},
              {"image_token_index", 262144},
              {"text_config", {{"model_type", "gemma3_text"}, {"hidden_size", textHidden}}},
              {"vision_config",
               {{"model_type", "siglip_vision_model"},
                {"hidden_size", h},
                {"intermediate_size", ff},
                {"num_hidden_layers", layers},
                {"num_attention_heads", heads},
                {"image_size", image},
                {"patch_size", patch},
                {"num_channels", 3},
                {"layer_norm_eps", 1e-6},
                {"hidden_act", "gelu_pytorch_tanh"}}}};
    const int64_t patches = (image / patch) * (image / patch);
    std::vector<Planned> plan;
    const std::string v = "vision_tower.vision_model.";
    add(plan, v + "embeddings.patch_embedding.weight", {h, 3, patch, patch});
    add(plan, v + "embeddings.patch_embedding.bias", {h}, Fill::Zeros);
    add(plan, v + "embeddings.position_embedding.weight", {patches, h});
    for (int64_t i = 0; i < layers; ++i) {
        const std::string l = v + "encoder.layers." + std::to_string(i) + ".";
        addNorm(plan, l + "layer_norm1", h);
        addNorm(plan, l + "layer_norm2", h);
        addLinear(plan, l + "self_attn.q_proj", h, h);
        addLinear(plan, l + "self_attn.k_proj", h, h);
        addLinear(plan, l + "self_attn.v_proj", h, h);
        addLinear(plan, l + "self_attn.out_proj", h, h);
        addLinear(plan, l + "mlp.fc1", ff, h);
        addLinear(plan, l + "mlp.fc2", h, ff);
    }
    addNorm(plan, v + "post_layernorm", h);
    // Gemma's RMSNorm scales by (1 + w): zeros are the identity.
    add(plan, "multi_modal_projector.mm_soft_emb_norm.weight", {h}, Fill::Zeros);
    add(plan, "multi_modal_projector.mm_input_projection_weight", {h, textHidden});
    return plan;
}

// Voxtral Mini 3B's audio side under transformers' saved names.
std::vector<Planned> voxtralAudioPlan(json& config) {
    const int64_t h = 1280, ff = 5120, layers = 32, heads = 20, mels = 128, positions = 1500, textHidden = 3072;
    config = {{"architectures", {"VoxtralForConditionalGeneration"}},
              {"model_type", "voxtral"},
              {"audio_token_id", 24},
              {"projector_hidden_act", "gelu"},
              {"text_config", {{"model_type", "llama"}, {"hidden_size", textHidden}}},
              {"audio_config",
               {{"model_type", "voxtral_encoder"},
                {"hidden_size", h},
                {"intermediate_size", ff},
                {"num_hidden_layers", layers},
                {"num_attention_heads", heads},
                {"num_mel_bins", mels},
                {"max_source_positions", positions},
                {"activation_function", "gelu"},
                {"scale_embedding", false}}}};
    std::vector<Planned> plan;
    const std::string a = "audio_tower.";
    add(plan, a + "conv1.weight", {h, mels, 3});
    add(plan, a + "conv1.bias", {h}, Fill::Zeros);
    add(plan, a + "conv2.weight", {h, h, 3});
    add(plan, a + "conv2.bias", {h}, Fill::Zeros);
    add(plan, a + "embed_positions.weight", {positions, h});
    for (int64_t i = 0; i < layers; ++i) {
        const std::string l = a + "layers." + std::to_string(i) + ".";
        addNorm(plan, l + "self_attn_layer_norm", h);
        addNorm(plan, l + "final_layer_norm", h);
        addLinear(plan, l + "self_attn.q_proj", h, h);
        addLinear(plan, l + "self_attn.k_proj", h, h, false);
        addLinear(plan, l + "self_attn.v_proj", h, h);
        addLinear(plan, l + "self_attn.out_proj", h, h);
        addLinear(plan, l + "fc1", ff, h);
        addLinear(plan, l + "fc2", h, ff);
    }
    addNorm(plan, a + "layer_norm", h);
    add(plan, "multi_modal_projector.linear_1.weight", {textHidden, ff});
    add(plan, "multi_modal_projector.linear_2.weight", {textHidden, textHidden});
    return plan;
}

// Matmul FLOPs of one image: patch embedding, per layer the six linears and attention's two
// products, then the projector on the pooled tokens.
double imageFlops(const Gemma3VisionConfig& c) {
    const double n = double(c.numPatches()), h = double(c.hiddenSize), ff = double(c.intermediateSize);
    const double perLayer = 2.0 * n * (4.0 * h * h + 2.0 * h * ff) + 4.0 * n * n * h;
    const double patchEmbed = 2.0 * n * h * double(c.numChannels * c.patchSize * c.patchSize);
    const double projector = 2.0 * double(c.mmTokensPerImage) * h * double(c.textHiddenSize);
    return patchEmbed + double(c.numLayers) * perLayer + projector;
}

// Matmul FLOPs of `chunks` audio chunks: both convolutions (kernel 3), the layers, the projector.
double audioFlops(const VoxtralAudioConfig& c, int64_t chunks) {
    const double n = double(c.maxSourcePositions), h = double(c.hiddenSize), ff = double(c.intermediateSize);
    const double conv = 2.0 * double(c.chunkFrames()) * h * double(c.numMelBins) * 3.0 + 2.0 * n * h * h * 3.0;
    const double perLayer = 2.0 * n * (4.0 * h * h + 2.0 * h * ff) + 4.0 * n * n * h;
    const double tokens = double(c.tokensPerChunk()), th = double(c.textHiddenSize);
    const double projector = 2.0 * tokens * (ff * th + th * th);
    return double(chunks) * (conv + double(c.numLayers) * perLayer + projector);
}

// [4096 x 1152] x [1152 x 4304] through the backend's matmul, the weight stored as the encoders'
// are (bf16) in the backend's memory: the best rate of three.
double gemmGflops(Ops& ops) {
    const int64_t n = 4096, k = 1152, m = 4304;
    std::vector<float> x(size_t(n * k));
    std::vector<uint16_t> w(size_t(m * k));
    Rng rng{7};
    for (float& v : x) v = rng.symmetric();
    for (uint16_t& v : w) v = floatToBf16(rng.symmetric() * 0.02f);
    float* dx = ops.allocate(x.size());
    float* dw = ops.allocate(w.size() / 2);
    float* dy = ops.allocate(size_t(n * m));
    ops.upload(dx, x.data(), x.size());
    ops.upload(dw, reinterpret_cast<const float*>(w.data()), w.size() / 2);  // the bf16 bytes as they are
    const WeightRef ref{dw, DType::BF16, m, k};
    float last = 0;
    ops.matmul(dx, n, ref, dy);  // warm-up: threads, page faults, libraries
    ops.download(&last, dy, 1);
    double best = 1e30;
    for (int r = 0; r < 3; ++r) {
        const auto start = std::chrono::steady_clock::now();
        ops.matmul(dx, n, ref, dy);
        ops.download(&last, dy, 1);  // waits for a device
        best = std::min(best, secondsSince(start));
    }
    ops.release(dx);
    ops.release(dw);
    ops.release(dy);
    return 2.0 * double(n) * double(k) * double(m) / best / 1e9;
}

// Where the tower's units were in its last run, and what it moved.
json towerReport(const EncoderTower& tower) {
    const ResidencyPlan& plan = tower.lastPlan();
    const StreamerStats& stats = tower.lastStats();
    std::printf("  weights: %d units in VRAM, %d in RAM, %d from disk; %.2f GiB read whole at the start of the "
                "run, %.2f GiB streamed from disk, %.2f GiB copied to the device\n",
                plan.unitsIn(Residency::Vram), plan.unitsIn(Residency::Ram), plan.unitsIn(Residency::Disk),
                double(stats.residentBytes) / kGiB, double(stats.bytesRead) / kGiB, double(stats.bytesToDevice) / kGiB);
    return {{"units_vram", plan.unitsIn(Residency::Vram)},
            {"units_ram", plan.unitsIn(Residency::Ram)},
            {"units_disk", plan.unitsIn(Residency::Disk)},
            {"vram_budget", plan.vramBudget},
            {"resident_bytes", stats.residentBytes},
            {"bytes_read", stats.bytesRead},
            {"bytes_to_device", stats.bytesToDevice}};
}

// Resets VmHWM to the current resident set (Linux 4.0+); false where the kernel refuses.
bool resetPeakResident() {
    std::FILE* f = std::fopen("/proc/self/clear_refs", "w");
    if (!f) return false;
    const bool ok = std::fputs("5", f) >= 0;
    return std::fclose(f) == 0 && ok;
}

struct Finite {
    size_t bad = 0;
    double maxAbs = 0;
};
Finite inspect(const std::vector<float>& v) {
    Finite f;
    for (float x : v) {
        if (!std::isfinite(x)) ++f.bad;
        else f.maxAbs = std::max(f.maxAbs, double(std::fabs(x)));
    }
    return f;
}

void usage() {
    std::fprintf(stderr,
                 "usage: bench_media_encoders [--dir D] [--json OUT] [--keep] [--reuse] [--skip-image] "
                 "[--skip-audio] [--vram-budget B]\n");
}

}  // namespace

int main(int argc, char** argv) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);  // each figure as it comes, also into a file
    fs::path dir = "/tmp/strata-encoders-bench";
    std::string jsonPath;
    bool keep = false, reuse = false, doImage = true, doAudio = true;
    std::string vramBudget;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--dir" && i + 1 < argc) dir = argv[++i];
        else if (a == "--json" && i + 1 < argc) jsonPath = argv[++i];
        else if (a == "--keep") keep = true;
        else if (a == "--reuse") reuse = true;
        else if (a == "--skip-image") doImage = false;
        else if (a == "--skip-audio") doAudio = false;
        else if (a == "--vram-budget" && i + 1 < argc) vramBudget = argv[++i];
        else {
            usage();
            return 2;
        }
    }
    const fs::path imageDir = dir / "gemma3-12b-vision", audioDir = dir / "voxtral-mini-3b-audio";
    json report;
    const char* threads = std::getenv("OPENBLAS_NUM_THREADS");
    report["openblas_num_threads"] = threads ? threads : "";
    report["hardware_threads"] = std::thread::hardware_concurrency();

    int failures = 0;
    auto fail = [](const std::string& what, const Error& e) {
        std::fprintf(stderr, "%s: %s\n", what.c_str(), e.message.c_str());
        return 1;
    };
    std::unique_ptr<Ops> ops;
    if (vramBudget.empty()) {
        ops = std::make_unique<CpuOps>();
    } else {
#ifdef STRATA_HAVE_CUDA
        auto budget = parseByteSize(vramBudget);
        if (!budget.ok()) return fail("--vram-budget", budget.error());
        auto cuda = CudaOps::create(budget.value());
        if (!cuda.ok()) return fail("CUDA backend", cuda.error());
        ops = std::move(cuda.value());
        report["vram_budget"] = budget.value();
#else
        std::fprintf(stderr, "--vram-budget needs a build with the CUDA backend\n");
        return 2;
#endif
    }
    report["backend"] = ops->name();

    const double gemm = gemmGflops(*ops);
    report["gemm_gflops"] = gemm;
    std::printf("%s matmul, bf16 weight [4096x1152]x[1152x4304]: %.1f GFLOP/s\n", ops->name(), gemm);
    // The checkpoints go however the run ends, unless --keep.
    struct Cleanup {
        std::vector<fs::path> dirs;
        bool keep;
        ~Cleanup() {
            std::error_code ec;
            if (!keep)
                for (const fs::path& d : dirs) fs::remove_all(d, ec);
        }
    } cleanup{{imageDir, audioDir}, keep};

    if (doImage) {
        json config;
        const std::vector<Planned> plan = gemma3VisionPlan(config);
        uint64_t bytes = 0;
        const auto writeStart = std::chrono::steady_clock::now();
        if (!(reuse && fs::exists(imageDir / "model.safetensors")) &&
            !writeCheckpoint(imageDir, config, plan, 1, bytes))
            return 1;
        bytes = fs::file_size(imageDir / "model.safetensors");
        const double writeSeconds = secondsSince(writeStart);
        std::printf("image checkpoint: %.2f GiB bf16 written in %.1f s\n", double(bytes) / kGiB, writeSeconds);
        resetPeakResident();
        const uint64_t rssBefore = currentResidentBytes();

        auto encoders = MediaEncoders::load(imageDir, *ops);
        if (!encoders.ok()) return fail("MediaEncoders::load " + imageDir.string(), encoders.error());
        MediaEncoders& enc = *encoders.value();
        const Gemma3VisionConfig& c = enc.visionConfig();
        std::vector<float> pixels(size_t(c.pixelCount()));
        Rng rng{11};
        for (float& p : pixels) p = rng.symmetric();

        auto start = std::chrono::steady_clock::now();
        auto first = enc.encodeImage(pixels);
        const double firstSeconds = secondsSince(start);
        if (!first.ok()) return fail("encodeImage", first.error());
        start = std::chrono::steady_clock::now();
        auto second = enc.encodeImage(pixels);
        const double secondSeconds = secondsSince(start);
        if (!second.ok()) return fail("encodeImage (second)", second.error());
        const Finite f = inspect(second.value());
        const double flops = imageFlops(c);
        const double rate = flops / secondSeconds / 1e9;
        const uint64_t peak = peakResidentBytes();
        std::printf("image (Gemma 3 12B SigLIP, %lld patches -> %lld x %lld):\n", (long long)c.numPatches(),
                    (long long)c.mmTokensPerImage, (long long)c.textHiddenSize);
        std::printf("  first encodeImage (weights read from disk): %.2f s\n", firstSeconds);
        std::printf("  second encodeImage (weights from the page cache): %.2f s\n", secondSeconds);
        std::printf("  matmul work %.0f GFLOP: %.1f GFLOP/s = %.0f%% of the reference matmul\n", flops / 1e9, rate,
                    100.0 * rate / gemm);
        const json weights = towerReport(enc.imageTower()->tower());
        std::printf("  peak RSS %.2f GiB (%.2f GiB before loading); output max |x| %.3g, %zu non-finite\n",
                    double(peak) / kGiB, double(rssBefore) / kGiB, f.maxAbs, f.bad);
        report["image"] = {{"checkpoint_bytes", bytes},
                           {"write_seconds", writeSeconds},
                           {"first_encode_seconds", firstSeconds},
                           {"second_encode_seconds", secondSeconds},
                           {"gflop", flops / 1e9},
                           {"gflops", rate},
                           {"fraction_of_gemm", rate / gemm},
                           {"weights", weights},
                           {"peak_rss_bytes", peak},
                           {"rss_before_bytes", rssBefore},
                           {"output_rows", second.value().size() / size_t(c.textHiddenSize)},
                           {"output_max_abs", f.maxAbs},
                           {"output_non_finite", f.bad}};
        if (f.bad) ++failures;
    }

    if (doAudio) {
        json config;
        const std::vector<Planned> plan = voxtralAudioPlan(config);
        uint64_t bytes = 0;
        const auto writeStart = std::chrono::steady_clock::now();
        if (!(reuse && fs::exists(audioDir / "model.safetensors")) &&
            !writeCheckpoint(audioDir, config, plan, 2, bytes))
            return 1;
        bytes = fs::file_size(audioDir / "model.safetensors");
        const double writeSeconds = secondsSince(writeStart);
        std::printf("audio checkpoint: %.2f GiB bf16 written in %.1f s\n", double(bytes) / kGiB, writeSeconds);
        const bool peakReset = resetPeakResident();
        const uint64_t rssBefore = currentResidentBytes();

        auto encoders = MediaEncoders::load(audioDir, *ops);
        if (!encoders.ok()) return fail("MediaEncoders::load " + audioDir.string(), encoders.error());
        MediaEncoders& enc = *encoders.value();
        const VoxtralAudioConfig& c = enc.audioConfig();
        const int64_t perChunk = c.numMelBins * c.chunkFrames();
        std::vector<float> mel(size_t(2 * perChunk));
        Rng rng{13};
        for (float& m : mel) m = rng.symmetric();
        const std::span<const float> oneChunk(mel.data(), size_t(perChunk));

        auto start = std::chrono::steady_clock::now();
        auto first = enc.encodeAudio(oneChunk, 1);
        const double firstSeconds = secondsSince(start);
        if (!first.ok()) return fail("encodeAudio 30 s", first.error());
        start = std::chrono::steady_clock::now();
        auto second = enc.encodeAudio(oneChunk, 1);
        const double secondSeconds = secondsSince(start);
        if (!second.ok()) return fail("encodeAudio 30 s (second)", second.error());
        // 45 s of audio is padded to two 30 s chunks, as the feature extractor does.
        start = std::chrono::steady_clock::now();
        auto twoChunks = enc.encodeAudio(mel, 2);
        const double twoSeconds = secondsSince(start);
        if (!twoChunks.ok()) return fail("encodeAudio 45 s", twoChunks.error());
        const Finite f = inspect(twoChunks.value());
        const double flops1 = audioFlops(c, 1), flops2 = audioFlops(c, 2);
        const double rate1 = flops1 / secondSeconds / 1e9, rate2 = flops2 / twoSeconds / 1e9;
        const uint64_t peak = peakResidentBytes();
        std::printf("audio (Voxtral Mini 3B encoder, %lld frames per chunk -> %lld x %lld per chunk):\n",
                    (long long)c.maxSourcePositions, (long long)c.tokensPerChunk(), (long long)c.textHiddenSize);
        std::printf("  first encodeAudio 30 s (weights read from disk): %.2f s\n", firstSeconds);
        std::printf("  second encodeAudio 30 s (weights from the page cache): %.2f s\n", secondSeconds);
        std::printf("  encodeAudio 45 s (2 chunks, one pass over the weights): %.2f s\n", twoSeconds);
        std::printf("  matmul work %.0f GFLOP per chunk: %.1f GFLOP/s (1 chunk), %.1f GFLOP/s (2 chunks) = %.0f%% of "
                    "the reference matmul\n",
                    flops1 / 1e9, rate1, rate2, 100.0 * rate2 / gemm);
        const json weights = towerReport(enc.audioTower()->tower());
        std::printf("  peak RSS %.2f GiB%s (%.2f GiB before loading); output max |x| %.3g, %zu non-finite\n",
                    double(peak) / kGiB, peakReset ? "" : " (whole run)", double(rssBefore) / kGiB, f.maxAbs, f.bad);
        report["audio"] = {{"checkpoint_bytes", bytes},
                           {"write_seconds", writeSeconds},
                           {"first_encode_30s_seconds", firstSeconds},
                           {"second_encode_30s_seconds", secondSeconds},
                           {"encode_45s_seconds", twoSeconds},
                           {"gflop_per_chunk", flops1 / 1e9},
                           {"gflops_30s", rate1},
                           {"gflops_45s", rate2},
                           {"fraction_of_gemm", rate2 / gemm},
                           {"weights", weights},
                           {"peak_rss_bytes", peak},
                           {"peak_rss_reset_before", peakReset},
                           {"rss_before_bytes", rssBefore},
                           {"output_rows_45s", twoChunks.value().size() / size_t(c.textHiddenSize)},
                           {"output_max_abs", f.maxAbs},
                           {"output_non_finite", f.bad}};
        if (f.bad) ++failures;
    }

    report["peak_rss_bytes_run"] = peakResidentBytes();
    if (!jsonPath.empty()) {
        std::ofstream out(jsonPath, std::ios::trunc);
        out << report.dump(2) << '\n';
        if (!out) {
            std::fprintf(stderr, "cannot write %s\n", jsonPath.c_str());
            return 1;
        }
    }
    return failures ? 1 : 0;
}
