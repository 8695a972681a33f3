#pragma once
// Errors are values: every public engine call that can fail returns a Status or a Result<T>
// whose message names the file, tensor or setting at fault.
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace strata {

enum class ErrorKind {
    BadInput,   // the user's files, flags or prompt are at fault: exit code 2
    Internal,   // our fault or the machine's (I/O error, out of memory): exit code 1
    DiskFull,   // a write found no space (ENOSPC): the job pauses, keeps what it saved, and can
                // resume once space is free: exit code 75 (EX_TEMPFAIL)
    Cancelled,  // the user stopped the job; what was saved stays resumable: exit code 130
};

struct Error {
    ErrorKind kind = ErrorKind::Internal;
    std::string message;
};

inline Error badInput(std::string message) { return {ErrorKind::BadInput, std::move(message)}; }
inline Error internalError(std::string message) { return {ErrorKind::Internal, std::move(message)}; }

inline Error diskFull(std::string message) { return {ErrorKind::DiskFull, std::move(message)}; }
inline Error cancelled(std::string message) { return {ErrorKind::Cancelled, std::move(message)}; }

inline int exitCodeFor(const Error& e) {
    switch (e.kind) {
    case ErrorKind::BadInput: return 2;
    case ErrorKind::DiskFull: return 75;
    case ErrorKind::Cancelled: return 130;
    case ErrorKind::Internal: break;
    }
    return 1;
}

template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::move(value)) {}
    Result(Error error) : v_(std::move(error)) {}

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    const Error& error() const { return std::get<1>(v_); }

private:
    std::variant<T, Error> v_;
};

class [[nodiscard]] Status {
public:
    Status() = default;
    Status(Error error) : error_(std::move(error)) {}
    static Status success() { return {}; }

    bool ok() const { return !error_.has_value(); }
    explicit operator bool() const { return ok(); }
    const Error& error() const { return *error_; }

private:
    std::optional<Error> error_;
};

}  // namespace strata

// Propagate an error from a Status or Result expression to the caller.
#define STRATA_TRY(expr)                                 \
    do {                                                 \
        auto&& strata_try_result_ = (expr);              \
        if (!strata_try_result_.ok())                    \
            return strata_try_result_.error();           \
    } while (0)

// Assign the value of a Result expression to lhs, or propagate its error to the caller.
#define STRATA_ASSIGN(lhs, expr)                        \
    do {                                                \
        auto strata_assign_result_ = (expr);            \
        if (!strata_assign_result_.ok())                \
            return strata_assign_result_.error();       \
        lhs = std::move(strata_assign_result_).value(); \
    } while (0)
