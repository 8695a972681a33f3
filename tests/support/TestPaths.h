#pragma once
// Where tests find their fixtures: tests/data and ../shared of the source tree they were built
// from, unless STRATA_TEST_DATA_DIR or STRATA_SHARED_DIR in the environment names another folder.
// The GPU bundle (tests/gpu) sets both, since its tests run on a machine without the source tree.
#include <QString>

#include <cstdlib>
#include <filesystem>

namespace strata::testsupport {

namespace detail {
inline std::filesystem::path folderFromEnvironment(const char* variable, const char* builtIn) {
    const char* value = std::getenv(variable);
    return std::filesystem::path(value && *value ? value : builtIn);
}
}  // namespace detail

// tests/data
inline std::filesystem::path testDataDir() {
    return detail::folderFromEnvironment("STRATA_TEST_DATA_DIR", STRATA_BUILT_TEST_DATA_DIR);
}
// ../shared beside the checkout (real tokenizers, reference notes)
inline std::filesystem::path sharedDir() {
    return detail::folderFromEnvironment("STRATA_SHARED_DIR", STRATA_BUILT_SHARED_DIR);
}
// A file or folder under tests/data, as a QString for Qt's file APIs.
inline QString testDataPath(const char* relative) {
    return QString::fromStdString((testDataDir() / relative).string());
}
inline QString sharedPath(const char* relative) { return QString::fromStdString((sharedDir() / relative).string()); }

}  // namespace strata::testsupport
