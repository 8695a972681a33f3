#pragma once
// Work that may crash or hang on hostile input (a PDF page's content for poppler's renderer) run
// in a child process, so that it costs an error instead of Strata: the child is forked, does the
// work and writes its result to a pipe; the parent reads it within a time limit, polls for a
// cancel, and kills the child when either runs out. The child only computes and writes (no
// threads, no Qt, no CUDA), and ends with _exit, so nothing of the parent's state is run twice.
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

namespace strata {

struct ChildOutcome {
    enum class Ending {
        Finished,   // the work returned; bytes hold its result
        Crashed,    // the child died of a signal (detail names it) or exited with a failure
        TimedOut,   // the limit ran out and the child was killed
        Cancelled,  // cancelled said yes and the child was killed
        TooLarge,   // the result was larger than maxBytes and the child was killed
        NoChild,    // fork failed (detail says why): the caller may do the work itself
    };
    Ending ending = Ending::NoChild;
    std::string bytes;
    std::string detail;
};

// Runs work() in a forked child and returns what it returned. cancelled (may be empty) is polled
// about every 50 ms while the child works.
ChildOutcome runInChildProcess(const std::function<std::string()>& work, std::chrono::milliseconds limit,
                               const std::function<bool()>& cancelled, size_t maxBytes);

}  // namespace strata
