#!/usr/bin/env python3
"""Regenerates tests/data/tokenizers/: a text corpus, the token ids the Hugging Face `tokenizers`
library gives for it with the three real tokenizer.json files in ../shared/tokenizers, a tiny
SentencePiece BPE model with its python-sentencepiece ids, and chat renderings from
transformers' apply_chat_template.

Usage: python3 tests/tools/make_tokenizer_fixtures.py [--shared ../shared]
"""
import argparse
import json
import os
import random
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(os.path.join(HERE, "..", "data", "tokenizers"))
FAMILIES = ["llama3_1", "qwen3", "gemma3"]


def make_corpus():
    fixed = [
        "", " ", "  ", "\n", "\n\n", "\n\n\n", "\t", "\t\t", "\r\n", " \r\n ", "a", "A", "Hello world",
        "Hello, world!", " leading space", "trailing space ", "  two leading", "two trailing  ",
        "multiple   spaces   inside", "tab\tseparated\tvalues", "line1\nline2\nline3",
        "windows\r\nline\r\nendings\r\n", "mixed \t \n whitespace \r\n\t end", "\n\n\nleading newlines",
        "trailing newlines\n\n\n", "   \n   \n   ", "word\n\n\n\n\n\nword", "a\u00a0b\u2003c\u3000d",
        "I'm sure you'll see it's what we've done, he'd say. THEY'RE HERE. It'S ok.",
        "don't won't can't shouldn't", "'s 't 're 've 'm 'll 'd", "''quoted''", "'ſ and 'K",
        "The quick brown fox jumps over the lazy dog.", "THE QUICK BROWN FOX", "CamelCaseIdentifierName",
        "snake_case_identifier_name", "kebab-case-identifier", "email: someone@example.com",
        "https://example.com/path?query=1&other=two#frag", "C:\\Windows\\System32\\drivers",
        "0", "7", "42", "123", "1234", "12345", "123456", "1234567", "12345678", "123456789",
        "1234567890", "3.14159265358979", "-273.15", "1,000,000", "1e-10", "0xDEADBEEF", "v1.2.3-rc4",
        "2024-07-26T12:34:56Z", "+1 (555) 123-4567", "$100.00 and €50 and ¥1000 and £20",
        "٠١٢٣٤٥٦٧٨٩ ۰۱۲۳ १२३४ ๑๒๓", "Ⅻ ⅳ ½ ¾ ² ³ ①②③",
        "Bonjour, ça va? Très bien, merci.", "Größe, Straße, Übermäßig", "¿Dónde está la biblioteca?",
        "Ελληνικά: Καλημέρα κόσμε", "Русский: Привет, мир! Съешь же ещё этих мягких французских булок.",
        "Українська: Ґалицький їжак", "עברית: שלום עולם", "العربية: مرحبا بالعالم، كيف حالك؟",
        "فارسی: سلام دنیا", "हिन्दी: नमस्ते दुनिया, आप कैसे हैं?", "বাংলা: হ্যালো বিশ্ব", "தமிழ்: வணக்கம் உலகம்",
        "ไทย: สวัสดีชาวโลก ภาษาไทยไม่มีช่องว่างระหว่างคำ", "ລາວ: ສະບາຍດີ", "ქართული: გამარჯობა",
        "Հայերեն: Բարեւ աշխարհ", "አማርኛ: ሰላም ዓለም", "中文：你好，世界！今天天气很好。", "繁體中文：臺灣的夜市很熱鬧。",
        "日本語：こんにちは世界。カタカナとひらがな、漢字。", "한국어: 안녕하세요 세계! 한글은 아름답습니다.",
        "Tiếng Việt: Xin chào thế giới, Tiếng Việt có dấu", "Türkçe: İstanbul'da ığdır", "Polski: Zażółć gęślą jaźń",
        "Čeština: Příliš žluťoučký kůň úpěl ďábelské ódy", "Íslenska: Þetta er ðæmi", "Монгол: Сайн байна уу",
        "ᚠᛇᚻ᛫ᛒᛦᚦ runes", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕞𝕒𝕥𝕙 𝒮𝒸𝓇𝒾𝓅𝓉", "Ｆｕｌｌｗｉｄｔｈ　ｔｅｘｔ１２３", "ﬁ ligature ﬂ ﬀ",
        unicodedata.normalize("NFD", "café naïve résumé Ångström"), unicodedata.normalize("NFC", "café naïve résumé Ångström"),
        unicodedata.normalize("NFD", "한국어 텍스트"), unicodedata.normalize("NFD", "Việt Nam"),
        "e\u0301 a\u0300 o\u0308 n\u0303", "a\u0301\u0302\u0303\u0304 stacked marks", "\u0301 leading combining mark",
        "Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇ text", "क्षत्रिय", "ﷺ ﷽", "Å vs Å vs Å", "Ω vs Ω", "K vs K",
        "😀", "😀😃😄😁", "👍🏽 thumbs up medium skin", "👨‍👩‍👧‍👦 family", "🧑🏿‍🚀 astronaut", "🏳️‍🌈 flag",
        "🇺🇸🇬🇧🇯🇵🇩🇪 flags", "🏴󠁧󠁢󠁳󠁣󠁴󠁿 Scotland", "❤️ heart with VS16", "1️⃣ keycap", "emoji😀inside😀words",
        "🤖🦾🧠 robots", "☃ ★ ☂ ♠ ♣ ♥ ♦", "→ ← ↑ ↓ ⇒ ∀x∈ℝ: x² ≥ 0", "∑_{i=1}^{n} i = n(n+1)/2",
        "\u200b zero width space \u200c\u200d joiners", "\ufeffBOM at start", "soft\u00adhyphen", "\u2028line sep\u2029para sep",
        "control\x01\x02\x07chars", "del\x7fchar", "\x0b\x0c vertical tab and form feed", "null\x00byte",
        "\ufffd replacement char", "private use \ue000\uf8ff", "\U0010fffd plane 16", "surrogate-free 𐍈 gothic",
        "<|eot_id|>", "<|begin_of_text|>Hello<|eot_id|>", "text <|eot_id|> more text", "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
        "<|im_start|>user\nHello<|im_end|>", "<|im_start|>assistant\n<think>\nhmm\n</think>\n\nAnswer<|im_end|>",
        "<|endoftext|>", "<tool_call>{\"name\": \"x\"}</tool_call>", "<start_of_turn>user\nHi<end_of_turn>",
        "<bos><start_of_turn>model\nHello<end_of_turn>\n", "<eos>", "<pad><unk><mask>", "<start_of_image>",
        "<s>legacy</s> <unk>", "<|eot_id", "eot_id|>", "<|im_start", "< start_of_turn >", "<|EOT_ID|>",
        "<|eot_id|><|eot_id|>", "x<|im_end|>y<|im_start|>z", "<unused0><unused99>", "[multimodal]",
        "<h1>Title</h1><p>Paragraph</p>", "<div class=\"x\">\n  <span>nested</span>\n</div>",
        "▁already▁has▁metaspace", "▁▁ double", "Ġ looks byte level Ċ", "ĠĠĠ",
        "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
        "#include <stdio.h>\nint main(void) {\n\tprintf(\"Hello\\n\");\n\treturn 0;\n}\n",
        "fn main() {\n    let v: Vec<i32> = (0..10).map(|x| x * x).collect();\n    println!(\"{:?}\", v);\n}",
        "const f = async (x) => { await fetch(`/api/${x}`); };", "SELECT id, name FROM users WHERE age >= 18 ORDER BY name;",
        "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"hi\")\n}\n",
        "public static void main(String[] args) { System.out.println(args.length); }",
        "#!/bin/bash\nfor f in *.txt; do\n  echo \"$f\"\ndone\n", "x = [i**2 for i in range(10) if i % 2 == 0]",
        "{\"key\": [1, 2, 3], \"nested\": {\"a\": null, \"b\": true}}", "key: value\nlist:\n  - one\n  - two\n",
        "| col1 | col2 |\n|------|------|\n| a    | b    |", "    indented with four spaces", "\t\tindented with tabs",
        "if (a && b || !c) { x += 1; } else { x -= 1; }", "a==b!=c<=d>=e->f=>g::h", "!!!???...;;;", "...", "—–-", "“smart quotes” ‘single’",
        "«guillemets» „German“", "（全角括号）【方括号】「引号」", "Hello\u3000世界", "mixed中文English混合text", "数字123和English456",
        "ALLCAPS lowercase MiXeD", "a b c d e f g h i j k l m n o p", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "ab" * 40, "the " * 30, "\n" * 40, " " * 40, "\t" * 35, "-" * 80, "=" * 33, "." * 17, "0" * 50,
        "🙂" * 12, "漢" * 25, "word " * 5 + "\n" * 3 + "word", "end with tab\t", "end with crlf\r\n", "\r\r\r", "\r alone",
        "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua.",
    ]
    rng = random.Random(1234)
    pieces = ["hello", "world", " ", "  ", "\n", "\t", "123", "4567", "中文", "🙂", "👨‍👩‍👧", "é", "e\u0301", "مرحبا",
              "नमस्ते", "สวัสดี", "안녕", "<|eot_id|>", "<|im_end|>", "<end_of_turn>", "'s", "'LL", "!", "?", "...", "\r\n",
              "x_y", "Ω", "ﬁ", "\u00a0", "(", ")", "{", "}", "->", "//", "#", "Ġ", "▁", "<0x41>", "<unused5>"]
    generated = []
    for _ in range(180):
        n = rng.randint(1, 14)
        generated.append("".join(rng.choice(pieces) for _ in range(n)))
    # Random code points from many blocks, including unassigned and rare ones.
    ranges = [(0x20, 0x7E), (0xA0, 0x24F), (0x370, 0x3FF), (0x400, 0x4FF), (0x590, 0x6FF), (0x900, 0x97F),
              (0xE00, 0xE7F), (0x1100, 0x11FF), (0x3040, 0x30FF), (0x4E00, 0x9FFF), (0xAC00, 0xD7A3),
              (0x1F300, 0x1FAFF), (0x2000, 0x206F), (0x10000, 0x1007F)]
    for _ in range(40):
        s = []
        for _ in range(rng.randint(1, 20)):
            lo, hi = rng.choice(ranges)
            s.append(chr(rng.randint(lo, hi)))
        generated.append("".join(s))
    corpus = fixed + generated
    assert len(corpus) >= 300, len(corpus)
    return corpus


def hf_ids(shared, corpus):
    from tokenizers import Tokenizer
    result = {}
    for fam in FAMILIES:
        tok = Tokenizer.from_file(os.path.join(shared, "tokenizers", fam, "tokenizer.json"))
        plain, bos, decoded = [], [], {}
        for i, s in enumerate(corpus):
            a = tok.encode(s, add_special_tokens=False).ids
            b = tok.encode(s, add_special_tokens=True).ids
            plain.append(a)
            bos.append(b)
            d = tok.decode(a, skip_special_tokens=False)
            if d != s:
                decoded[str(i)] = d
        skip = {str(i): tok.decode(plain[i], skip_special_tokens=True) for i in range(len(corpus))
                if tok.decode(plain[i], skip_special_tokens=True) != tok.decode(plain[i], skip_special_tokens=False)}
        result[fam] = {"plain": plain, "bos": bos, "decoded": decoded, "decoded_skip_special": skip}
    return result


def leftmost_longest_split(text, specials):
    """Splits text on literal special pieces, leftmost-longest, as Strata's SentencePiece wrapper does."""
    out, start, pos = [], 0, 0
    while pos < len(text):
        best = None
        for sp in specials:
            if text.startswith(sp, pos) and (best is None or len(sp) > len(best)):
                best = sp
        if best is None:
            pos += 1
            continue
        if start < pos:
            out.append((text[start:pos], None))
        out.append((best, specials[best]))
        pos += len(best)
        start = pos
    if start < len(text):
        out.append((text[start:], None))
    return out


def sentencepiece_fixture(corpus):
    import sentencepiece as spm
    d = os.path.join(OUT, "sp_tiny")
    os.makedirs(d, exist_ok=True)
    rng = random.Random(99)
    words = ("the of and to in is was for on that with as by at from his her it an be this which or are "
             "model token layer stream disk memory cache window prompt answer question document page log "
             "Strata engine runs large language models while streaming layers from storage").split()
    lines = []
    for _ in range(3000):
        lines.append(" ".join(rng.choice(words) for _ in range(rng.randint(3, 14))) + rng.choice([".", "!", "?", ","]))
    lines += ["Numbers 0123456789 and punctuation: ;,.!?()[]{}", "Ünïcödé çàfé naïve", "中文 文本 测试"] * 20
    train = os.path.join(d, "train.txt")
    with open(train, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    spm.SentencePieceTrainer.train(input=train, model_prefix=os.path.join(d, "tokenizer"), vocab_size=500,
                                   model_type="bpe", byte_fallback=True, character_coverage=0.9995,
                                   num_threads=1, minloglevel=2,
                                   normalization_rule_name="identity")
    os.remove(train)
    os.remove(os.path.join(d, "tokenizer.vocab"))
    sp = spm.SentencePieceProcessor(model_file=os.path.join(d, "tokenizer.model"))
    specials = {sp.id_to_piece(i): i for i in range(sp.get_piece_size()) if sp.is_control(i) or sp.is_unknown(i)}
    plain = []
    for i, s in enumerate(corpus):
        ids = []
        for piece, sid in leftmost_longest_split(s, specials):
            ids.extend([sid] if sid is not None else sp.encode(piece))
        plain.append(ids)
    return {"plain": plain, "bos_id": sp.bos_id(), "eos_id": sp.eos_id(),
            "piece_size": sp.get_piece_size(),
            "decode_plain_runs": [sp.decode([x for x in ids if x not in specials.values()]) for ids in plain]}


# The system-header part of Meta's Llama 3.1 Instruct template (tool branches removed); the
# tokenizer_config.json shipped beside the tokenizer carries the shorter Llama 3 template.
LLAMA31_DATE_TEMPLATE = (
    "{{- bos_token }}\n"
    "{%- if not date_string is defined %}\n    {%- set date_string = \"26 Jul 2024\" %}\n{%- endif %}\n"
    "{%- if messages[0]['role'] == 'system' %}\n    {%- set system_message = messages[0]['content']|trim %}\n"
    "    {%- set messages = messages[1:] %}\n{%- else %}\n    {%- set system_message = \"\" %}\n{%- endif %}\n"
    "{{- \"<|start_header_id|>system<|end_header_id|>\\n\\n\" }}\n"
    "{{- \"Cutting Knowledge Date: December 2023\\n\" }}\n"
    "{{- \"Today Date: \" + date_string + \"\\n\\n\" }}\n"
    "{{- system_message }}\n{{- \"<|eot_id|>\" }}\n"
    "{%- for message in messages %}\n"
    "    {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' }}\n"
    "{%- endfor %}\n"
    "{%- if add_generation_prompt %}\n    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}\n{%- endif %}\n"
)


def chats(shared):
    from transformers import AutoTokenizer
    conversations = [
        [{"role": "user", "content": "Hello!"}],
        [{"role": "system", "content": "You are a careful analyst."}, {"role": "user", "content": "Summarise the log."}],
        [{"role": "system", "content": "  Be brief.\n"}, {"role": "user", "content": "  What is 2+2?  \n"},
         {"role": "assistant", "content": "4"}, {"role": "user", "content": "And 3+3?"}],
        [{"role": "user", "content": "Write a haiku about disks."},
         {"role": "assistant", "content": "<think>\nThe user wants a haiku.\n</think>\n\nSpinning platters hum"},
         {"role": "user", "content": "Another one, in 中文 please 🙂"}],
        [{"role": "user", "content": "First"}, {"role": "assistant", "content": "Reply one"},
         {"role": "user", "content": "Second"},
         {"role": "assistant", "content": "<think>\nreasoning two\n\n</think>\n\nReply two"}],
        [{"role": "system", "content": "Sys"}, {"role": "user", "content": "Q"},
         {"role": "assistant", "content": "\n\nA with leading newlines"}],
    ]
    out = []
    for fam in FAMILIES:
        tok = AutoTokenizer.from_pretrained(os.path.join(shared, "tokenizers", fam))
        for conv in conversations:
            for gen in (True, False):
                thinking_modes = [True, False] if fam == "qwen3" else [True]
                for think in thinking_modes:
                    kwargs = {"enable_thinking": False} if (fam == "qwen3" and not think) else {}
                    text = tok.apply_chat_template(conv, tokenize=False, add_generation_prompt=gen, **kwargs)
                    out.append({"family": fam, "messages": conv, "add_generation_prompt": gen,
                                "enable_thinking": think, "llama_date_header": False, "expected": text})
                    if fam == "llama3_1":
                        text = tok.apply_chat_template(conv, tokenize=False, add_generation_prompt=gen,
                                                       chat_template=LLAMA31_DATE_TEMPLATE)
                        out.append({"family": fam, "messages": conv, "add_generation_prompt": gen,
                                    "enable_thinking": True, "llama_date_header": True, "expected": text})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared")))
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    corpus = make_corpus()

    def dump(name, obj):
        with open(os.path.join(OUT, name), "w", encoding="utf-8") as f:
            json.dump(obj, f, ensure_ascii=False, separators=(",", ":"))
            f.write("\n")

    dump("corpus.json", corpus)
    dump("hf_ids.json", hf_ids(args.shared, corpus))
    dump("sp_tiny_ids.json", sentencepiece_fixture(corpus))
    dump("chat.json", chats(args.shared))
    print("wrote fixtures for", len(corpus), "strings to", OUT)


if __name__ == "__main__":
    main()
