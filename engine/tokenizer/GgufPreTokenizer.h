#pragma once
// The pre-tokenizers that GGUF files name in tokenizer.ggml.pre for byte-level BPE vocabularies
// (tokenizer.ggml.model "gpt2"), as llama.cpp maps each name: a list of split regexes applied one
// after another (each splits every piece into its matches and the text between them, as a
// tokenizer.json Split with behaviour Isolated), then the byte-level alphabet.
//
// Where llama.cpp rewrote a model's regex for its own regex engine (case-insensitive contractions
// spelt as (?:'[sS]|...), possessive quantifiers made greedy, lookaheads standing in for \p{Lu}
// classes), the table holds the regex of the model's tokenizer.json, which is what the model was
// trained with; that includes the contractions llama.cpp respells without quoting the original
// (dbrx, smaug-bpe, chatglm-bpe, glm4, laguna, youtu). GPT-2's pattern is written as tokenizer.json
// writes it (llama.cpp drops its final "|\s+", which splits the same way), and line breaks as the
// regex escapes \r and \n. granite-embed-multi-97m keeps llama.cpp's own pattern: its original is
// not quoted anywhere.
#include <string_view>
#include <vector>

#include "core/Result.h"

namespace strata {

struct GgufPreTokenizer {
    std::vector<std::string_view> regexes;  // applied in order
    bool ignoreMerges = false;      // a word that is a token is that token (BPE ignore_merges)
    bool addsBosByDefault = false;  // when the file has no tokenizer.ggml.add_bos_token
    bool nfc = false;               // the model's tokenizer.json normalizes to NFC first
};

// The pre-tokenizer a tokenizer.ggml.pre value names ("default" when the key is absent). An
// unknown name, and the names whose splitting is not a plain regex list, are errors that say so;
// fileName prefixes the message.
Result<GgufPreTokenizer> ggufPreTokenizer(std::string_view name, const std::string& fileName);

// Every supported tokenizer.ggml.pre value.
std::vector<std::string_view> ggufPreTokenizerNames();

}  // namespace strata
