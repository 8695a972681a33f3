#!/usr/bin/env python3
"""Regenerates tests/data/tokenizers/pretokenizers.json: what the Hugging Face `tokenizers` library
(Oniguruma regexes) gives for the GGUF pre-tokenizers (tokenizer.ggml.pre) that Strata supports.

It trains one small byte-level BPE vocabulary on the tokenizer corpus (tests/data/tokenizers/
corpus.json) and some more text, adds a few whole words that the merges cannot build (so that
ignore_merges shows), and for every distinct pre-tokenizer (a list of Split regexes, Isolated,
then ByteLevel without its own regex; the BPE's ignore_merges; an NFC normalizer where the model
has one) encodes every corpus string plain and with a BOS template. The name table below is the
same as engine/tokenizer/GgufPreTokenizer.cpp (the C++ test checks that they agree).

It also records, for the regex engine checks: which code points Oniguruma puts in the classes the
tokenizer files use, and the pieces of a set of Split / Digits / Punctuation / ByteLevel
pre-tokenizers on sample texts.

Usage: python3 tests/tools/make_pretokenizer_fixtures.py      (tokenizers 0.23; about a minute)
"""
import json
import os

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.normpath(os.path.join(HERE, "..", "data", "tokenizers"))
BOS = "<|bos|>"
MERGES = 1400

# The regexes, as in engine/tokenizer/GgufPreTokenizer.cpp (non-ASCII written as \u escapes).
kGpt2 = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
kLlama3 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
kQwen2 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
kJais2Words = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s{512}(?!\S)|\s{256}(?!\S)|\s{128}(?!\S)|\s{64}(?!\S)|\s{32}(?!\S)|\s{16}(?!\S)|\s{8}(?!\S)|\s{4}(?!\S)|\s{1,2}(?!\S)|\s{1}"
kLineBreak = r"[\r\n]"
kDeepSeekLatinWords = "\\s?[A-Za-z\u00b5\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u01ba\u01bc-\u01bf\u01c4-\u0293\u0295-\u02af\u0370-\u0373\u0376\u0377\u037b-\u037d\u037f\u0386\u0388-\u038a\u038c\u038e-\u03a1\u03a3-\u03f5\u03f7-\u0481\u048a-\u052f\u0531-\u0556\u10a0-\u10c5\u13a0-\u13f5\u13f8-\u13fd\u1c90-\u1cba\u1cbd-\u1cbf\u1d00-\u1d2b\u1d6b-\u1d77\u1d79-\u1d9a\u1e00-\u1f15\u1f18-\u1f1d\u1f20-\u1f45\u1f48-\u1f4d\u1f50-\u1f57\u1f59\u1f5b\u1f5d\u1f5f-\u1f7d\u1f80-\u1fb4\u1fb6-\u1fbc\u1fbe\u1fc2-\u1fc4\u1fc6-\u1fcc\u1fd0-\u1fd3\u1fd6-\u1fdb\u1fe0-\u1fec\u1ff2-\u1ff4\u1ff6-\u1ffc\u2102\u2107\u210a-\u2113\u2115\u2119-\u211d\u2124\u2126\u2128\u212a-\u212d\u212f-\u2134\u2139\u213c-\u213f\u2145-\u2149\u214e\u2183\u2184\u2c00-\u2c7b\u2c7e-\u2ce4\u2ceb-\u2cee\u2cf2\u2cf3\ua640-\ua66d\ua680-\ua69b\ua722-\ua76f\ua771-\ua787\ua78b-\ua78e\uab70-\uabbf\ufb00-\ufb06\ufb13-\ufb17\uff21-\uff3a\uff41-\uff5a\U00010400-\U0001044f\U000104b0-\U000104d3\U000104d8-\U000104fb\U00010c80-\U00010cb2\U00010cc0-\U00010cf2\U000118a0-\U000118df\U0001e900-\U0001e943]+"
kDeepSeekPunctuation = "\\s?[!-/:-~\uff01-\uff0f\uff1a-\uff5e\u2018-\u201f\u3000-\u3002]+"
kTrailingSpace = r"\s+$"
kDeepSeekCjkHangul = "[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+"
kDigitRun = r"\p{N}+"
kDigits1to3 = r"\p{N}{1,3}"
kCjkKana = "[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+"
kDeepSeek3Words = "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
kSpark25Words = "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+|[\\r\\n]|\\s+(?!\\S)|\\s+"
kDigit = r"\p{N}"
kYoutuCjk = "[\uac00-\ud7a3\u3131-\u318e]+|[\uff01\u2026\u201c\u201d\u2018\u2019\u2014\uff1a\uff1b\uff0c\u3001-\u303f\ufe30-\ufe4f]+|[\u3105-\u312f]+|[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+"
kYoutuWords = r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"
kSpaceLetters = r"\s?\p{L}+"
kSpacePunctuation = r"\s?\p{P}+"
kFalconPunctuation = r"[\p{P}\$\+<=>\^~\|`]+"
kThreeAsciiDigits = r"[0-9][0-9][0-9]"
kQwen35Words = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
kPoroWords = " ?[^(\\s|.,!?\u2026\u3002\uff0c\u3001\u0964\u06d4\u060c)]+"
kTekkenWords = r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"
kChameleonSentinel = r"<sentinel:[0-9]+>"
kChameleonImage = r"(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z"
kChameleonWhitespace = r"([\t\n]|    |  )"
kChameleonPunctuation = r"[\p{P}!-/:-@\[-`{-~]"
kO200kWords = r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"
kGraniteMultiWords = r"[^\r\n\p{L}\p{N}]?((?=[\p{L}\p{M}])([^a-z]))*((?=[\p{L}\p{M}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\r\n\p{L}\p{N}]?((?=[\p{L}\p{M}])([^a-z]))+((?=[\p{L}\p{M}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"
kDigitGroups = r"\d{1,3}(?=(?:\d{3})*\b)"
kBailingWords = r"'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+"
kSeedCoderWords = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+"
kUfakzekaWords = r"[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
kLines = r"[^\n]+|[\n]+"
kExaoneMoeWords = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?(?:\p{L}\p{M}*(?: \p{L}\p{M}*)*)+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]?|\s*[\r\n]|\s+(?!\S)|\s+"
kMiniCpm5Words = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}+| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
kDigitTriplesAhead = r"(?=(\d{3})+(?!\d))"
kDefaultPunctuation = r"[\p{P}\$\+<=>\^~\|]+"

# tokenizer.ggml.pre names -> (regex list, ignore_merges, BOS when add_bos_token is absent, NFC),
# grouped as llama.cpp groups them.
NAMES = [
    (["default"],
     [kDefaultPunctuation, kGpt2, kDigitRun, kThreeAsciiDigits], False, False, False),
    (["minicpm5"],
     [kDigits1to3, kMiniCpm5Words], True, False, False),
    (["llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano"],
     [kLlama3], True, True, False),
    (["deepseek-llm"],
     [kLineBreak, kDeepSeekLatinWords, kDeepSeekPunctuation, kTrailingSpace, kDeepSeekCjkHangul, kDigitRun], False, False, False),
    (["deepseek-coder"],
     [kLineBreak, kSpaceLetters, kSpacePunctuation, kDeepSeekCjkHangul, kDigit], False, False, False),
    (["deepseek-v3", "hunyuan-dense", "hy_v4", "joyai-llm"],
     [kDigits1to3, kCjkKana, kDeepSeek3Words], False, False, False),
    (["spark2_5"],
     [kDigits1to3, kCjkKana, kSpark25Words, kDigit], False, False, False),
    (["youtu"],
     [kYoutuCjk, kYoutuWords], True, False, False),
    (["falcon"],
     [kFalconPunctuation, kGpt2, kThreeAsciiDigits], False, False, False),
    (["gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum", "modern-bert", "jina-v1-en", "jina-v2-code", "roberta-bpe", "mpt", "olmo", "jais", "trillion", "granite-docling", "exaone4"],
     [kGpt2], False, False, False),
    (["starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b", "mellum2"],
     [kDigit, kGpt2], False, False, False),
    (["jais-2"],
     [kJais2Words], False, False, False),
    (["qwen2"],
     [kQwen2], False, False, True),
    (["deepseek-r1-qwen", "kormo", "f2llmv2", "stablelm2", "megrez", "hunyuan", "solar-open", "grok-2"],
     [kQwen2], False, False, False),
    (["qwen35"],
     [kQwen35Words], False, False, False),
    (["dbrx", "smaug-bpe", "chatglm-bpe", "glm4"],
     [kLlama3], False, False, False),
    (["poro-chat", "bloom", "gpt3-finnish"],
     [kPoroWords], False, False, False),
    (["viking"],
     [kPoroWords, kDigit], False, False, False),
    (["tekken"],
     [kTekkenWords], True, True, False),
    (["chameleon"],
     [kChameleonSentinel, kChameleonImage, kChameleonWhitespace, kDigit, kChameleonPunctuation, kGpt2], False, True, False),
    (["gpt-4o", "llama4", "kanana2", "talkie", "minimax-m2"],
     [kO200kWords], False, False, False),
    (["granite-embed-multi-97m"],
     [kGraniteMultiWords], True, False, False),
    (["tiny_aya", "cohere2moe"],
     [kDigitGroups, kO200kWords], False, False, False),
    (["bailingmoe", "bailingmoe2", "llada-moe"],
     [kBailingWords], False, False, False),
    (["seed-coder"],
     [kSeedCoderWords], False, False, False),
    (["ufakzeka"],
     [kUfakzekaWords], False, False, False),
    (["laguna"],
     [kLines, kQwen2], False, False, False),
    (["exaone-moe"],
     [kExaoneMoeWords], False, False, False),
    (["superbpe"],
     [kDigitRun, kDigitTriplesAhead], False, False, False),
]

# llama.cpp names that Strata refuses, each for a reason the error message gives.
REFUSED = ["kimi-k2", "afmoe", "gemma4", "granite-embed-multi-311m", "sarvam-moe", "whitespace"]

MORE_TEXT = [
    "The committee's report, published on 2024-03-15, says they'll revisit the 1,234,567-euro budget.",
    "We've seen it: THEY'LL come back; she'd said so. Isn't it? You're right, I'M sure.",
    "Numbers: 0 00 000 0000 00000 3.14159 2.71828 1e10 6.022e23 -42 +17 1/3 99% $5 #7",
    "    def method(self, x: int) -> list[str]:\n        return [str(i) for i in range(x)]\n",
    "for (int i = 0; i < n; ++i) { sum += a[i] * b[i]; }  // dot product",
    "<html>\n  <body>\n    <p class=\"note\">Hi &amp; bye</p>\n  </body>\n</html>",
    "今日は良い天気ですね。東京タワーに行きました。ひらがな、カタカナ、漢字。",
    "我们今天去北京，明天去上海。这是一个测试句子，包含标点符号！",
    "대한민국의 수도는 서울입니다. 한국어 문장을 토큰화합니다.",
    "Это предложение на русском языке, с запятыми и точками.",
    "Ἐν ἀρχῇ ἦν ὁ λόγος, καὶ ὁ λόγος ἦν πρὸς τὸν θεόν.",
    "مرحبا بكم في هذا الاختبار، نتمنى لكم يوماً سعيداً.",
    "हिन्दी में यह एक परीक्षण वाक्य है।",
    "Emoji 😀😃 and symbols ★☆ → ← ∑∏ √∞ ≤≥ ±× ÷",
    "Tabs\tand\tnewlines\n\n\nand   multiple    spaces\r\n",
    "snake_case CamelCase kebab-case SCREAMING_CASE dot.case path/to/file.txt",
    "https://www.example.org/search?q=tokenizer&lang=en#results user@mail.example.com",
    "İstanbul'da, Türkiye'nin en büyük şehrinde; Ankara'ya gittik.",
    "Ça m'a plu : l'été, j'ai vu l'océan et c'était très beau !",
    "1234567890 12345 123456789012 0.000001 1,000,000.00",
    "（括号）【注意】「引用」『二重』……——～",
    "naïve café coöperate résumé façade Æsir Œuvre Ångström",
]


def train_vocabulary(corpus):
    tok = Tokenizer(models.BPE())
    # Training on whole strings lets merges cross the boundaries that some pre-tokenizers split at,
    # so that a wrong split shows in the ids.
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    trainer = trainers.BpeTrainer(vocab_size=len(alphabet) + MERGES, min_frequency=2, initial_alphabet=alphabet,
                                  show_progress=False)
    tok.train_from_iterator([s for s in corpus + MORE_TEXT * 3 if s], trainer=trainer)
    model = json.loads(tok.to_str())["model"]
    tokens = [t for t, _ in sorted(model["vocab"].items(), key=lambda kv: kv[1])]
    assert [model["vocab"][t] for t in tokens] == list(range(len(tokens)))
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    return tokens, merges


def byte_level(text):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    return tok.pre_tokenizer.pre_tokenize_str(text)[0][0] if text else ""


def make_tokenizer(tokens, merges, regexes, ignore_merges, nfc):
    vocab = {t: i for i, t in enumerate(tokens)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, ignore_merges=ignore_merges))
    if nfc:
        tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Split(Regex(r), "isolated") for r in regexes]
        + [pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(BOS, special=True, normalized=False)])
    tok.post_processor = processors.TemplateProcessing(single=f"{BOS} $A", special_tokens=[(BOS, vocab[BOS])])
    return tok


def unreachable_words(tokens, merges, corpus):
    """Whole words (as the GPT-2, Llama 3 and o200k patterns cut them) that BPE would split: added to
    the vocabulary, they become one token only when ignore_merges is on."""
    vocab = set(tokens)
    found = []
    for regex in (kGpt2, kLlama3, kO200kWords):
        tok = make_tokenizer(tokens + [BOS], merges, [regex], False, False)
        for s in corpus:
            for word, _ in tok.pre_tokenizer.pre_tokenize_str(s):
                if len(word) >= 4 and word not in vocab and word not in found:
                    if len(tok.model.tokenize(word)) > 1:
                        found.append(word)
    return found[:60]


def onig_classes():
    """Code points that Oniguruma puts in each class, one character at a time, as runs: the first
    code point, then by turns the run's length less one and the gap to the next run's first."""
    exprs = [r"\s", r"\S", r"\w", r"\W", r"\d", r"\h", r"\p{L}", r"\p{N}", r"\p{M}", r"\p{P}", r"\p{S}",
             r"\p{Lu}", r"\p{Ll}", r"\p{Lt}", r"\p{Lm}", r"\p{Lo}", r"\p{Han}", r"\p{Hiragana}", r"\p{Latin}",
             r"(?i:s)", r"(?i:k)", r"(?i:[sdmt])", r"[^\s\p{L}\p{N}]", r"[^\r\n\p{L}\p{N}]", r"[\p{L}\p{M}]", r".",
             r"[\p{P}\$\+<=>\^~\|`]", r"[^(\s|.,!?…。，、।۔،)]"]
    cps = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    text = "".join(map(chr, cps))
    out = {}
    for e in exprs:
        kept = pre_tokenizers.Split(Regex(e), "removed").pre_tokenize_str(text)
        outside = set(ord(ch) for piece, _ in kept for ch in piece)
        ranges, start, prev = [], None, None
        for c in cps:
            if c in outside:
                continue
            if start is not None and (c == prev + 1 or (prev == 0xD7FF and c == 0xE000)):
                prev = c
                continue
            if start is not None:
                ranges.append([start, prev])
            start = prev = c
        if start is not None:
            ranges.append([start, prev])
        flat, last = [], 0
        for first, final in ranges:
            flat += [first - last, final - first]
            last = final
        out[e] = flat
    return out


SPLIT_TEXTS = [
    "Hello, world! It's 12345 o'clock; THEY'LL see.", "a  b\t\tc\n\nd \r\n e   ", "1234567 and 12 and 1,234",
    "'ſ and 'K and 'S", "Straße STRASSE", "x\u180ey\u180e z", "\u0085next line\u0085", "tab\there\n  line\nend",
    "漢字かな交じり文、カタカナ。한국어", "١٢٣٤ ٣ 1️⃣ ²³ ½", "a\u0301b\u0301 e\u0301\u0302", "word_with_underscores x2y",
    "deadBEEF 0x1F g", "(x+y)*z/[a-b] {c}<d>", "....!!!???", "", " ", "\n", "IMGIMGABZ <sentinel:12>",
    "a\nb a.b axb\n  \n", "\U0001F600A\u00c4",
]


def split_cases():
    """Pieces of tokenizer.json pre-tokenizers on sample texts, as pre_tokenize_str gives them."""
    S = lambda r, b="isolated", invert=False: pre_tokenizers.Split(Regex(r), b, invert=invert)
    cases = [
        S(r"\p{N}{1,3}"), S(r"(?=(\d{3})+(?!\d))"), S(r"(?=(\d{3})+(?!\d))", "merged_with_next"),
        S(r"\s+", "removed"), S(r"\s+", "merged_with_previous"), S(r"\s+", "merged_with_next"), S(r"\s+", "contiguous"),
        S(r"\p{L}+", "isolated", True), S(r"\p{L}+", "merged_with_previous", True), S(r"\p{P}", "contiguous"),
        S(r"\b"), S(r"\w+"), S(r"\W+", "removed"), S(r"\h+"), S(r"\p{Han}+"), S(r"(?i:'s|'t|'re|'ve|'m|'ll|'d)"),
        S(r"^\s+|\s+$"), S(r"(?m)a.b"), S(r"\d{1,3}(?=(?:\d{3})*\b)"), S(r"[^\r\n\p{L}\p{N}]?+\p{L}+| ?[^\s\p{L}\p{N}]++"),
        S(r"\u0041|\x{1F600}"), S(r"a*"), S(r"(?<=\p{L})(?=\p{N})"),
        pre_tokenizers.Split(" ", "merged_with_previous"), pre_tokenizers.Split("ab", "removed"),
        pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.Digits(individual_digits=False),
        pre_tokenizers.Punctuation(), pre_tokenizers.Punctuation("contiguous"), pre_tokenizers.Punctuation("merged_with_next"),
        pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True),
        pre_tokenizers.Sequence([pre_tokenizers.Punctuation("contiguous"),
                                 pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
                                 pre_tokenizers.Digits(individual_digits=False), S(r"[0-9][0-9][0-9]")]),
    ]
    out = []
    for pt in cases:
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pt
        spec = json.loads(tok.to_str())["pre_tokenizer"]
        out.append({"pre_tokenizer": spec, "pieces": [[p for p, _ in pt.pre_tokenize_str(t)] for t in SPLIT_TEXTS]})
    return out


def main():
    corpus = json.load(open(os.path.join(DATA, "corpus.json"), encoding="utf-8"))
    tokens, merges = train_vocabulary(corpus)
    extra = unreachable_words(tokens, merges, corpus)
    tokens = tokens + extra + [BOS]
    bos_id = len(tokens) - 1

    groups, names, variants = [], {}, [[] for _ in corpus]
    for group_names, regexes, ignore_merges, add_bos, nfc in NAMES:
        key = (tuple(regexes), ignore_merges, nfc)
        index = next((i for i, g in enumerate(groups) if g["key"] == key), None)
        if index is None:
            tok = make_tokenizer(tokens, merges, regexes, ignore_merges, nfc)
            plain_refs = ""
            for i, s in enumerate(corpus):
                plain = tok.encode(s, add_special_tokens=False).ids
                with_bos = tok.encode(s, add_special_tokens=True).ids
                assert with_bos == [bos_id] + plain, "the BOS template should only prepend the BOS token"
                if plain not in variants[i]:
                    variants[i].append(plain)
                assert len(variants[i]) <= 36
                plain_refs += "0123456789abcdefghijklmnopqrstuvwxyz"[variants[i].index(plain)]
            index = len(groups)
            groups.append({"key": key, "regexes": regexes, "ignore_merges": ignore_merges, "nfc": nfc,
                           "plain": plain_refs})
        for n in group_names:
            assert n not in names, n
            names[n] = {"group": index, "adds_bos_by_default": add_bos}
    for g in groups:
        del g["key"]

    differing = sum(1 for v in variants if len(v) > 1)
    # names: tokenizer.ggml.pre -> its group and BOS default; groups: each distinct pre-tokenizer
    # with, in "plain", one base-36 digit per corpus string that picks its ids among the string's
    # "variants" (with BOS, the BOS id comes first and nothing else changes).
    out = {
        "generator": "tests/tools/make_pretokenizer_fixtures.py",
        "tokens": tokens, "merges": [f"{a} {b}" for a, b in merges], "bos_id": bos_id,
        "ignore_merges_words": len(extra), "names": names, "refused": REFUSED, "groups": groups,
        "variants": variants, "onig_classes": onig_classes(), "split_texts": SPLIT_TEXTS, "split_cases": split_cases(),
    }
    path = os.path.join(DATA, "pretokenizers.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print(f"{len(tokens)} tokens, {len(merges)} merges, {len(extra)} whole-word tokens; {len(names)} names in "
          f"{len(groups)} groups; {differing} of {len(corpus)} strings tokenize differently between groups; "
          f"{os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
