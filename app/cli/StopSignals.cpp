#include "StopSignals.h"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstring>

namespace strata::cli {

namespace {

std::atomic<int> signalled{0};
static_assert(std::atomic<int>::is_always_lock_free, "read and written from a signal handler");

void onStopSignal(int number) {
    signalled.store(number);
    // Only async-signal-safe calls here: write(2) and sigaction(2).
    static const char kNote[] =
        "\nstrata-cli: stopping: the job pauses at its next token or checkpoint and is saved "
        "(the same signal again quits at once)\n";
    ssize_t ignored = ::write(STDERR_FILENO, kNote, sizeof kNote - 1);
    (void)ignored;
    struct sigaction fallback {};
    fallback.sa_handler = SIG_DFL;
    sigemptyset(&fallback.sa_mask);
    sigaction(number, &fallback, nullptr);
}

}  // namespace

void installStopSignals() {
    struct sigaction action {};
    action.sa_handler = onStopSignal;
    sigemptyset(&action.sa_mask);
    // Reads and writes in progress go on rather than fail with EINTR.
    action.sa_flags = SA_RESTART;
    for (int number : {SIGTERM, SIGINT, SIGHUP}) sigaction(number, &action, nullptr);
}

bool stopSignalled() { return signalled.load() != 0; }

}  // namespace strata::cli
