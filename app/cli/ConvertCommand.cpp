// strata-cli convert: a GGUF file to a Hugging Face folder (bf16 safetensors, config, tokenizer).
#include <cstdio>

#include "CliArguments.h"
#include "CommandSpec.h"
#include "Commands.h"
#include "ProgressLine.h"
#include "core/Clock.h"
#include "model/GgufConversion.h"

namespace strata::cli {

Status convertCommand(const std::vector<std::string>& argv) {
    auto args = parseCommand("convert", argv);
    STRATA_TRY(args);
    auto gguf = args->required("gguf");
    STRATA_TRY(gguf);
    auto out = args->required("out");
    STRATA_TRY(out);
    ProgressLine progress;
    const auto t0 = SteadyClock::now();
    STRATA_TRY(convertGgufToFolder(gguf.value(), out.value(), [&](size_t done, size_t total) {
        progress.status("converting: tensor " + std::to_string(done) + " of " + std::to_string(total));
    }));
    progress.finish();
    std::fprintf(stderr, "wrote %s in %.1f s\n", out.value().c_str(), secondsSince(t0));
    return {};
}

}  // namespace strata::cli
