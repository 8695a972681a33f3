#include "ProgressLine.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>

#include "core/NumberFormat.h"

namespace strata::cli {

ProgressLine::ProgressLine() : terminal_(isatty(STDERR_FILENO) == 1) {}

std::string formatDuration(double seconds) {
    if (seconds < 0 || !std::isfinite(seconds)) return "?";
    const long s = long(std::lround(seconds));
    char buf[32];
    if (s >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
    return buf;
}

void ProgressLine::update(const GenerationProgress& p) {
    const bool prefill = p.phase == GenerationPhase::Prefill;
    if (terminal_ && !prefill) {
        // The answer streams to the same terminal: a rewritten line would tear it.
        finish();
        return;
    }
    tokens(prefill ? "prefill" : "decode", p.done, p.total, p.tokensPerSecond, p.etaSeconds);
}

void ProgressLine::tokens(const char* phase, int64_t done, int64_t total, double tokensPerSecond, double etaSeconds) {
    char buf[200];
    const double pct = total > 0 ? 100.0 * double(done) / double(total) : 0.0;
    std::snprintf(buf, sizeof buf, "[%s %3.0f%%] %s/%s tokens, %s tok/s, ETA %s", phase, pct, groupDigits(done).c_str(),
                  groupDigits(total).c_str(), groupDigits(tokensPerSecond, 1).c_str(),
                  formatDuration(etaSeconds).c_str());
    write(buf, done == total || done == 0);
}

// Only on a terminal, as status lines are: reading is quick next to the run it precedes.
void ProgressLine::reading(const std::string& file, uint64_t done, uint64_t total) {
    if (!terminal_) return;
    char buf[64];
    std::snprintf(buf, sizeof buf, "[ingest %3.0f%%] ", total > 0 ? 100.0 * double(done) / double(total) : 0.0);
    write(buf + file, done == 0 || done == total);
}

// Only on a terminal: in a log, the phase lines and the final summary say enough.
void ProgressLine::status(const std::string& text) {
    if (terminal_) write(text, true);
}

void ProgressLine::note(const std::string& text) {
    finish();
    std::fprintf(stderr, "%s\n", text.c_str());
    std::fflush(stderr);
}

void ProgressLine::write(const std::string& line, bool force) {
    const auto now = std::chrono::steady_clock::now();
    if (terminal_) {
        if (!force && now - last_ < std::chrono::milliseconds(100)) return;
        std::fprintf(stderr, "\r\033[K%s", line.c_str());
        open_ = true;
    } else {
        if (!force && now - last_ < std::chrono::seconds(1)) return;
        std::fprintf(stderr, "%s\n", line.c_str());
    }
    std::fflush(stderr);
    last_ = now;
}

void ProgressLine::finish() {
    if (terminal_ && open_) std::fprintf(stderr, "\n");
    open_ = false;
}

}  // namespace strata::cli
