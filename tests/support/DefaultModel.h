#pragma once
// Tests that need the default real model (Gemma 3 270M, installed by packaging/install-models.sh)
// skip with a clear message when it is absent, and fail instead when STRATA_REQUIRE_MODELS=1
// (set by .ci/run, which installs it), so that a broken install cannot pass as a skip.
#include <QtTest>

#include <cstdlib>
#include <filesystem>

#include "core/ModelLocations.h"

// Skips the test with `why` (const char*), or fails it when STRATA_REQUIRE_MODELS=1.
#define STRATA_MISSING_MODEL(why)                                                                        \
    do {                                                                                                 \
        const char* strataRequire_ = std::getenv("STRATA_REQUIRE_MODELS");                              \
        if (strataRequire_ && std::string(strataRequire_) == "1") QFAIL(why);                           \
        QSKIP(why);                                                                                      \
    } while (0)

#define STRATA_REQUIRE_DEFAULT_MODEL()                                                                   \
    do {                                                                                                 \
        const std::filesystem::path strataModel_ = strata::defaultModelPath();                          \
        if (!std::filesystem::exists(strataModel_)) {                                                   \
            const QByteArray strataWhy_ = "the Gemma 3 270M GGUF is not installed at " +                \
                                          QByteArray::fromStdString(strataModel_.string()) +            \
                                          "; run packaging/install-models.sh";                          \
            STRATA_MISSING_MODEL(strataWhy_.constData());                                               \
        }                                                                                                \
    } while (0)
