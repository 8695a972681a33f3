#include "StopSignalNotifier.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>

#include "StopSignals.h"

namespace strata::app {

namespace {

int pipeFds[2] = {-1, -1};  // [0]: read on the UI thread, [1]: written by the handler

void onStopSignal(int number) {
    // Only async-signal-safe calls: write(2) and sigaction(2).
    const unsigned char byte = static_cast<unsigned char>(number);
    ssize_t ignored = ::write(pipeFds[1], &byte, 1);
    (void)ignored;
    restoreStopSignal(number);
}

}  // namespace

StopSignalNotifier::StopSignalNotifier(QObject* parent) : QObject(parent) {
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pipeFds) != 0) {
        std::perror("strata: no stop-signal handling (socketpair)");
        return;
    }
    notifier_ = std::make_unique<QSocketNotifier>(pipeFds[0], QSocketNotifier::Read);
    connect(notifier_.get(), &QSocketNotifier::activated, this, [this] {
        unsigned char byte = 0;
        if (::read(pipeFds[0], &byte, 1) == 1) emit stopRequested(int(byte));
    });
    handleStopSignals(onStopSignal);
}

StopSignalNotifier::~StopSignalNotifier() {
    restoreStopSignals();
    notifier_.reset();
    for (int& fd : pipeFds) {
        if (fd >= 0) ::close(fd);
        fd = -1;
    }
}

}  // namespace strata::app
