#pragma once
// The tokenizer stored in a GGUF file's metadata, rebuilt as the tokenizer.json that Hugging Face
// would use for the same model, so that one tokenizer implementation serves both formats and
// `strata-cli convert` can write the file out.
//   tokenizer.ggml.model "llama": a SentencePiece BPE vocabulary (pieces, scores, types). The merges
//     are derived from the scores as transformers derives them from a .model file: every split of a
//     piece into two pieces, ranked by the merged piece's score. Byte fallback, "▁" for spaces.
//   tokenizer.ggml.model "gpt2": a byte-level BPE vocabulary with its merges; the pre-tokenizer
//     split pattern comes from tokenizer.ggml.pre.
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/Result.h"
#include "format/GgufFile.h"
#include "tokenizer/TokenizerJsonReader.h"

namespace strata {

struct GgufVocabulary {
    TokenizerJson tokenizer;      // what tokenizer.json would hold
    int32_t bosId = -1;
    bool addBos = false;
    std::vector<int32_t> eosIds;  // the end-of-sequence token, then any end-of-turn token
};

Result<GgufVocabulary> readGgufVocabulary(const GgufFile& gguf);

// The whole tokenizer.json document (vocab and merges put back into "model").
nlohmann::json tokenizerJsonDocument(const TokenizerJson& tokenizer);

}  // namespace strata
