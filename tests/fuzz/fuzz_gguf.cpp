// libFuzzer target for the GGUF path: the bytes go through everything Strata derives from a GGUF
// file — the parser, the llama.cpp-to-Hugging Face tensor mapping, config.json and tokenizer.json
// rebuilt from the metadata, the tokenizer built from that, and every tensor read and dequantised.
// Bad bytes must come back as error values: a crash, a sanitizer report, a leak, an exception
// escaping the engine or a runaway allocation is a bug.
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "format/Checkpoint.h"
#include "format/GgufFile.h"
#include "format/GgufTensorNames.h"
#include "arch/ModelConfig.h"
#include "runtime/WeightLayout.h"
#include "tokenizer/GgufVocabulary.h"
#include "tokenizer/HfTokenizer.h"
#include "arch/DecoderWeights.h"

namespace {

using namespace strata;

// Inputs are small (-max_len), but a quantised tensor is read back as several times its stored
// bytes; larger reads would only slow the fuzzer down without reaching new code.
constexpr uint64_t kMaxTensorBytes = 4u << 20;

// Checkpoint reads tensors from a file it opens by path, so inputs that reach it are written to
// one file per process, rewritten in place for each input and removed at exit.
class ScratchFile {
public:
    ScratchFile() : path_("/tmp/strata-fuzz-gguf-" + std::to_string(::getpid()) + ".gguf") {
        fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd_ < 0) {
            std::perror(path_.c_str());
            std::abort();
        }
    }
    ~ScratchFile() {
        ::close(fd_);
        ::unlink(path_.c_str());
    }
    const std::string& write(std::string_view bytes) {
        size_t done = 0;
        while (done < bytes.size()) {
            const ssize_t n = ::pwrite(fd_, bytes.data() + done, bytes.size() - done, off_t(done));
            if (n <= 0) {
                std::perror(path_.c_str());
                std::abort();
            }
            done += size_t(n);
        }
        if (::ftruncate(fd_, off_t(bytes.size())) != 0) {
            std::perror(path_.c_str());
            std::abort();
        }
        return path_;
    }

private:
    std::string path_;
    int fd_ = -1;
};

void exerciseTokenizer(const GgufFile& gguf) {
    auto vocab = readGgufVocabulary(gguf);
    if (!vocab.ok()) return;
    (void)tokenizerJsonDocument(vocab.value().tokenizer);
    auto tok = HfTokenizer::fromJson(std::move(vocab.value().tokenizer), gguf.name());
    if (!tok.ok()) return;
    tok.value()->setBos(vocab.value().bosId);
    tok.value()->setEos(vocab.value().eosIds);
    const std::vector<int32_t> ids = tok.value()->encode("Hello, wörld! 12 <end_of_turn>\n\t  x", true);
    (void)tok.value()->decode(ids);
    (void)tok.value()->decode(ids, true);
}

void exerciseTensors(const Checkpoint& ckpt) {
    std::vector<uint8_t> buffer;
    for (const auto& [name, info] : ckpt.tensors()) {
        if (info.nbytes > kMaxTensorBytes) continue;
        buffer.resize(size_t(info.nbytes));
        (void)ckpt.read(info, buffer.data());
        if (info.shape.size() != 2 || (info.encoding && info.encoding->unpermuteHeads > 0)) continue;
        const int64_t rows = info.shape[0];
        const uint64_t rowBytes = uint64_t(info.shape[1]) * dtypeSize(info.dtype);
        buffer.resize(size_t(2 * rowBytes));
        (void)ckpt.readRows(info, 0, 1, buffer.data());
        (void)ckpt.readRows(info, rows - 2 > 0 ? rows - 2 : 0, rows >= 2 ? 2 : 1, buffer.data());
        (void)ckpt.readRows(info, rows, 1, buffer.data());  // out of range: must be an error
    }
}

void exerciseModel(const Checkpoint& ckpt) {
    auto config = loadModelConfig(ckpt);  // hfConfigFromGguf, then the config.json parser
    if (!config.ok()) return;
    if (!resolveTensorNames(config.value(), ckpt).ok()) return;
    (void)buildWeightLayout(config.value(), ckpt);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    auto parsed = GgufFile::parse(bytes, "fuzz.gguf");
    if (!parsed.ok()) return 0;
    const GgufFile& gguf = *parsed.value();
    for (const GgufTensor& t : gguf.tensors()) (void)gguf.findTensor(t.name);

    exerciseTokenizer(gguf);
    // Checkpoint::open fails at this same mapping, so only inputs that pass it are worth a write.
    if (!hfTensorsFromGguf(gguf, 0).ok()) return 0;
    static ScratchFile scratch;
    auto ckpt = Checkpoint::open(scratch.write(bytes));
    if (!ckpt.ok()) return 0;
    exerciseModel(*ckpt.value());
    exerciseTensors(*ckpt.value());
    return 0;
}
