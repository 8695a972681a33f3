#include "ChildProcess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace strata {

namespace {

constexpr int kPollMilliseconds = 50;

// Everything of buffer to fd, going on after interruptions; false when the reader is gone.
bool writeAll(int fd, const char* data, size_t size) {
    while (size > 0) {
        const ssize_t n = ::write(fd, data, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        data += n;
        size -= size_t(n);
    }
    return true;
}

[[noreturn]] void childMain(int fd, const std::function<std::string()>& work) {
    int status = 3;
    try {
        const std::string result = work();
        status = writeAll(fd, result.data(), result.size()) ? 0 : 4;
    } catch (...) {
        status = 2;
    }
    ::close(fd);
    ::_exit(status);
}

void killAndReap(pid_t child) {
    ::kill(child, SIGKILL);
    while (::waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
    }
}

}  // namespace

ChildOutcome runInChildProcess(const std::function<std::string()>& work, std::chrono::milliseconds limit,
                               const std::function<bool()>& cancelled, size_t maxBytes) {
    ChildOutcome outcome;
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        outcome.detail = std::string("no pipe: ") + std::strerror(errno);
        return outcome;
    }
    const pid_t child = ::fork();
    if (child < 0) {
        outcome.detail = std::string("fork failed: ") + std::strerror(errno);
        ::close(fds[0]);
        ::close(fds[1]);
        return outcome;
    }
    if (child == 0) {
        ::close(fds[0]);
        childMain(fds[1], work);
    }
    ::close(fds[1]);

    const auto deadline = std::chrono::steady_clock::now() + limit;
    char buffer[1 << 16];
    for (;;) {
        if (cancelled && cancelled()) {
            outcome.ending = ChildOutcome::Ending::Cancelled;
            break;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            outcome.ending = ChildOutcome::Ending::TimedOut;
            break;
        }
        pollfd p{fds[0], POLLIN, 0};
        const int ready = ::poll(&p, 1, kPollMilliseconds);
        if (ready < 0 && errno != EINTR) {
            outcome.ending = ChildOutcome::Ending::Crashed;
            outcome.detail = std::string("poll failed: ") + std::strerror(errno);
            break;
        }
        if (ready <= 0)
            continue;
        const ssize_t n = ::read(fds[0], buffer, sizeof buffer);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            outcome.ending = ChildOutcome::Ending::Crashed;
            outcome.detail = std::string("read failed: ") + std::strerror(errno);
            break;
        }
        if (n == 0) {  // the child closed its end: it finished or died
            outcome.ending = ChildOutcome::Ending::Finished;
            break;
        }
        if (outcome.bytes.size() + size_t(n) > maxBytes) {
            outcome.ending = ChildOutcome::Ending::TooLarge;
            break;
        }
        outcome.bytes.append(buffer, size_t(n));
    }
    ::close(fds[0]);
    if (outcome.ending != ChildOutcome::Ending::Finished) {
        killAndReap(child);
        outcome.bytes.clear();
        return outcome;
    }
    int status = 0;
    pid_t reaped;
    while ((reaped = ::waitpid(child, &status, 0)) < 0 && errno == EINTR) {
    }
    if (reaped < 0)  // SIGCHLD ignored elsewhere: the child was reaped for us; trust the pipe's end
        return outcome;
    if (WIFSIGNALED(status)) {
        outcome.ending = ChildOutcome::Ending::Crashed;
        outcome.detail = std::string("killed by signal ") + std::to_string(WTERMSIG(status)) + " (" +
                         ::strsignal(WTERMSIG(status)) + ")";
    } else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
        outcome.ending = ChildOutcome::Ending::Crashed;
        outcome.detail = "exited with status " + std::to_string(WEXITSTATUS(status));
    }
    if (outcome.ending != ChildOutcome::Ending::Finished)
        outcome.bytes.clear();
    return outcome;
}

}  // namespace strata
