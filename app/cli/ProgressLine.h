#pragma once
// The live progress line on stderr: rewritten in place on a terminal, one line per second
// (and at the end of each phase) when stderr is a file or a pipe.
#include <chrono>
#include <cstdint>
#include <string>

#include "model/Generator.h"

namespace strata::cli {

class ProgressLine {
public:
    ProgressLine();
    void update(const GenerationProgress& progress);
    // "[score  40%] 320/797 tokens, 45.2 tok/s, ETA 0:07": any phase counted in tokens.
    void tokens(const char* phase, int64_t done, int64_t total, double tokensPerSecond, double etaSeconds);
    void status(const std::string& text);  // a free-form line, e.g. "loading model"
    // "[ingest  40%] report.pdf", throttled like the token progress.
    void reading(const std::string& file, uint64_t done, uint64_t total);
    void finish();                         // ends the line on a terminal
    // A line of its own, on a terminal and in a log alike: "checkpoint saved: ...".
    void note(const std::string& text);

private:
    void write(const std::string& line, bool force);
    bool terminal_;
    bool open_ = false;
    std::chrono::steady_clock::time_point last_{};
};

std::string formatDuration(double seconds);

}  // namespace strata::cli
