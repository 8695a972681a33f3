#!/usr/bin/env python3
"""Writes tests/data/tekken/expected_ids.json: the ids that mistral-common's Tekkenizer gives for a
corpus of strings, using tekken_240911.json (the Tekken vocabulary that Voxtral and Mistral NeMo use).

    pip install mistral-common==1.13.1
    python3 tests/tools/make_tekken_fixtures.py [path/to/tekken_240911.json]

Without a path the file shipped inside the installed mistral_common package is used.
"""
import json
import os
import random
import sys
from pathlib import Path

from mistral_common.tokens.tokenizers.base import SpecialTokenPolicy
from mistral_common.tokens.tokenizers.tekken import Tekkenizer


def corpus():
    texts = [
        "", " ", "  ", "\t", "\n", "\r\n", "\n\n\n", " \n ", "a", "A", "Hello", "hello world",
        "Hello, world!", " leading space", "trailing space ", "  both  ", "The quick brown fox jumps over the lazy dog.",
        "HELLO WORLD", "CamelCaseWord", "camelCaseWord", "XMLHttpRequest", "iPhone", "McDonald's", "don't", "I'll",
        "we're", "they've", "it's", "O'NEIL", "e.g.", "U.S.A.", "Mr. Smith", "snake_case_name", "kebab-case-name",
        "ALL_CAPS_CONST", "path/to/file.txt", "/usr/local/bin", "C:\\Windows\\System32", "https://example.com/a?b=c&d=e",
        "user@example.com", "#hashtag", "@mention", "$100.00", "€50", "£3.14", "¥1000", "100%", "3.14159", "2024-11-24",
        "12:34:56", "1,234,567", "0x1F", "1e-9", "-42", "+7", "1/2", "½ ¾", "Ⅻ", "①②③", "٣٤٥", "१२३", "123456789012345",
        "a1b2c3", "v1.2.3", "x = 1 + 2 * 3", "if (a && b) { return c; }", "for i in range(10):\n    print(i)",
        "def f(x):\n\treturn x ** 2\n", "int main() {\r\n  return 0;\r\n}\r\n", "#include <vector>", "std::vector<int> v{1,2,3};",
        "<html><body>Hi</body></html>", "SELECT * FROM t WHERE id = 1;", "{\"key\": [1, 2, null]}", "a => a * 2",
        "x != y && y >= z", "// comment", "/* block */", "```python\nprint('hi')\n```", "<s>", "</s>", "[INST]", "[/INST]",
        "[INST] hello [/INST]", "<unk>", "<pad>", "[IMG]", "<SPECIAL_20>", "[AUDIO]", "[TRANSCRIBE]", "<|endoftext|>",
        "line1\nline2", "line1\r\nline2", "line1\rline2", "a\n\nb", "a  b", "a   b", "a    b", "a\t\tb", "  \n  x",
        "x  \n  ", "\n   \n", " \r\n \r\n", "word\n", "word \n", "end.\n\n", "tab\tseparated\tvalues", "    indented",
        "\u00a0nbsp", "a\u00a0b", "a\u2003b", "a\u3000b", "zero\u200bwidth", "soft\u00adhyphen", "\u2028sep", "\x0bvt\x0cff",
        "café", "naïve", "résumé", "Ångström", "Zürich", "São Paulo", "façade", "coöperate", "El niño", "Straße", "ÀÉÎÕÜ",
        "e\u0301", "cafe\u0301", "\u0301start", "a\u0308\u0304", "Ελληνικά", "Привет, мир!", "ПРИВЕТ", "Україна", "Ђорђе",
        "Հայերեն", "ქართული", "עברית", "שָׁלוֹם", "مرحبا بالعالم", "العربية", "السَّلَامُ عَلَيْكُمْ", "فارسی", "اردو",
        "हिन्दी", "नमस्ते दुनिया", "বাংলা", "தமிழ்", "తెలుగు", "ಕನ್ನಡ", "മലയാളം", "ไทย", "ภาษาไทย", "ລາວ", "မြန်မာ",
        "ខ្មែរ", "བོད་ཡིག", "ᠮᠣᠩᠭᠣᠯ", "ትግርኛ", "ᏣᎳᎩ", "ᐃᓄᒃᑎᑐᑦ", "中文", "你好，世界！", "我爱北京天安门", "汉字漢字",
        "日本語", "こんにちは世界", "カタカナ", "ひらがなカタカナ漢字", "ｶﾀｶﾅ", "한국어", "안녕하세요 세계", "Tiếng Việt",
        "Türkçe", "Polski język", "Čeština", "Română", "Magyar nyelv", "Íslenska", "Ŧĥïŝ ïŝ ŧéŝŧ", "ǅemal", "ǈ", "ǋ",
        "Ⓐⓑⓒ", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "𝐁𝐨𝐥𝐝", "ｆｕｌｌｗｉｄｔｈ", "Ｈｅｌｌｏ", "ﬁnance", "ﬀ", "ʰʲʷ", "ˈfəʊnɛtɪk", "ᴬᴮᴰ",
        "😀", "😀😃😄", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷🇩🇪", "❤️", "☃", "★☆", "→←↑↓", "∑∫∂√∞", "≠≤≥", "α+β=γ",
        "E=mc²", "H₂O", "x²+y²=z²", "°C", "™®©", "…", "—–-", "“quoted”", "‘single’", "«guillemets»", "„German“",
        "¿Qué?", "¡Hola!", "・", "。、", "「括弧」", "【注意】", "〜", "♪♫", "⚠️ warning", "✓ done", "✗ fail",
        "Hello 世界 мир عالم", "abc中文def", "English日本語Mixed", "Москва2024", "test123テスト", "αβγ123", "ÀbC",
        "aB", "Ab", "AB", "ABc", "AbC", "aBC", "ǅA", "ǅa", "Aǅ", "ʰA", "Aʰ", "aʰb", "中A", "A中", "a中",
        "\x00", "\x01\x02\x03", "\x7f", "\u0080", "\ufeffBOM", "\ufffd", "\U0010ffff", "\ue000private", "a\u0000b",
        "...", "!!!", "???", "---", "===", "***", "___", "~~~", "+++", "###", "@@@", "$$$", "%%%", "^^^", "&&&",
        "a/b/c", "a//b", "x/\n", "./\r\n", "!/\n/", " /", "a /b", "end!\n", "end!\r\n\r\n", "end?!\n\nnext",
        " !", "  !", "\t!", "\n!", " a", "  a", "\ta", "\na", "\r\na", " 1", "  12", " A", " Ab", " AB", " ab",
        "1a", "a1", "A1", "_a", "_A", "-a", ".a", ",a", "'a", "\"A", "(Ab)", "[ab]", "{AB}",
        "supercalifragilisticexpialidocious", "Pneumonoultramicroscopicsilicovolcanoconiosis",
        "Donaudampfschifffahrtselektrizitätenhauptbetriebswerkbauunterbeamtengesellschaft",
        "antidisestablishmentarianism" * 3, "a" * 100, "A" * 64, "ab" * 50, "中" * 80, "😀" * 20, " " * 40,
        "\n" * 20, "x" + " " * 17 + "y", "-" * 70, "=" * 33, "0123456789" * 5, "aA" * 30,
        "The year 1999 was followed by 2000.", "Call 555-1234 now!", "Version 2.0.1-beta+build.5",
        "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua.",
        "Voxtral transcribes audio: [BEGIN_AUDIO] then text.", "Mistral NeMo uses Tekken, a tiktoken-based tokenizer.",
        "  Multiple   spaces   between   words  ", "Mixed\tTabs and  spaces\n\tand newlines\r\n",
        "It's 5 o'clock somewhere; isn't it?", "She said, \"Hello!\" and left.", "Q: What's 2+2?\nA: 4.",
        "Tokenizers split text into pieces, then merge bytes by rank.",
    ]
    # Pieces longer than 128 bytes take the heap-ordered merge path.
    long_rng = random.Random(7)
    texts += ["a" * 1000, "ab" * 400, "Z" * 300, "中" * 500, " " * 600, "\n" * 300, "!" * 400, "é" * 200,
              "".join(long_rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(3000)),
              "".join(long_rng.choice("etaoinshrdlu") for _ in range(1500)),
              "".join(long_rng.choice("你好世界中文字符漢") for _ in range(400)),
              "".join(long_rng.choice("!@#$%^&*()-+=[]{};:,.<>?/|~") for _ in range(800)),
              "un" + "believable" * 40]
    # Random mixtures exercise boundaries the hand-written strings miss.
    rng = random.Random(20241124)
    alphabet = list("aAzZ019 \t\n\r.,!?/'\"-_") + ["é", "É", "ß", "中", "あ", "ア", "한", "ع", "ש", "Ж", "ж", "ǅ", "ʰ",
                                                 "\u0301", "😀", "\u00a0", "\u3000", "½", "٣", "🇫", "—", "€"]
    while len(texts) < 400:
        n = rng.randint(1, 40)
        texts.append("".join(rng.choice(alphabet) for _ in range(n)))
    seen = set()
    unique = []
    for t in texts:
        if t not in seen:
            seen.add(t)
            unique.append(t)
    return unique


def main():
    if len(sys.argv) > 1:
        path = Path(sys.argv[1])
    else:
        import mistral_common
        path = Path(mistral_common.__file__).parent / "data" / "tekken_240911.json"
    tok = Tekkenizer.from_file(path)
    out_dir = Path(__file__).resolve().parent.parent / "data" / "tekken"
    out_dir.mkdir(parents=True, exist_ok=True)
    cases = []
    for text in corpus():
        ids = tok.encode(text, bos=False, eos=False)
        assert tok.decode(ids) == text, text
        cases.append({"text": text, "ids": ids})
    with open(out_dir / "expected_ids.json", "w", encoding="utf-8") as f:
        json.dump(cases, f, ensure_ascii=True, indent=0)
        f.write("\n")
    # How ids with special tokens and partial UTF-8 decode, for both special-token policies.
    decode_cases = []
    for ids in ([1, 1362, 2], [3, 22177, 4], [1, 2, 3, 4, 10, 24, 999], [1000 + 0xE4, 1000 + 0xB8],
                [1000 + 0xE4, 1000 + 0xB8, 1000 + 0xAD], [1000 + 0xFF, 1100], [tok.bos_id] + tok.encode("Hi 😀", False, False)):
        decode_cases.append({
            "ids": ids,
            "keep": tok.decode(ids, special_token_policy=SpecialTokenPolicy.KEEP),
            "ignore": tok.decode(ids, special_token_policy=SpecialTokenPolicy.IGNORE),
        })
    with open(out_dir / "expected_decode.json", "w", encoding="utf-8") as f:
        json.dump(decode_cases, f, ensure_ascii=True, indent=1)
        f.write("\n")
    specials = {t["token_str"]: t["rank"] for t in tok._all_special_tokens[:20]}
    with open(out_dir / "expected_special.json", "w", encoding="utf-8") as f:
        json.dump({"bos": tok.bos_id, "eos": tok.eos_id, "num_special": tok.num_special_tokens,
                   "vocab_size": tok.n_words, "special": specials}, f, ensure_ascii=True, indent=1)
        f.write("\n")
    print(f"{len(cases)} strings, {sum(len(c['ids']) for c in cases)} ids -> {out_dir}", file=sys.stderr)


if __name__ == "__main__":
    main()
