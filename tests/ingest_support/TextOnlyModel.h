#pragma once
// The model the ingest tests read files for when no real tokenizer matters: it takes text only
// (so images go to OCR), counts a token per four bytes and has a context no test file fills.
// Header-only.
#include <cstdint>
#include <string_view>

#include "PromptParts.h"

namespace strata::testsupport {

inline ModelInputs textOnlyModel() {
    ModelInputs model;
    model.modelName = "test-text";
    model.contextTokens = int64_t(1) << 20;
    model.countTokens = [](std::string_view text) { return int64_t(text.size() / 4 + 1); };
    return model;
}

}  // namespace strata::testsupport
