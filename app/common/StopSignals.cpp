#include "StopSignals.h"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstring>

namespace strata {

namespace {

constexpr int kStopSignals[] = {SIGTERM, SIGINT, SIGHUP};

std::atomic<int> signalled{0};
std::atomic<const char*> watchNote{nullptr};
static_assert(std::atomic<int>::is_always_lock_free && std::atomic<const char*>::is_always_lock_free,
              "read and written from a signal handler");

void onWatchedSignal(int number) {
    signalled.store(number);
    // Only async-signal-safe calls here: write(2), strlen and sigaction(2).
    if (const char* note = watchNote.load()) {
        ssize_t ignored = ::write(STDERR_FILENO, note, std::strlen(note));
        (void)ignored;
    }
    restoreStopSignal(number);
}

}  // namespace

void handleStopSignals(void (*handler)(int)) {
    struct sigaction action {};
    action.sa_handler = handler;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    for (int number : kStopSignals) sigaction(number, &action, nullptr);
}

void restoreStopSignal(int number) {
    struct sigaction fallback {};
    fallback.sa_handler = SIG_DFL;
    sigemptyset(&fallback.sa_mask);
    sigaction(number, &fallback, nullptr);
}

void restoreStopSignals() {
    for (int number : kStopSignals) restoreStopSignal(number);
}

void watchStopSignals(const char* note) {
    watchNote.store(note);
    handleStopSignals(onWatchedSignal);
}

bool stopSignalled() { return signalled.load() != 0; }

}  // namespace strata
