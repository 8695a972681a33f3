#!/usr/bin/env python3
"""Regenerates tests/data/tokenizers/harmony_chat.json: conversations rendered with gpt-oss's
chat template (chat_template.jinja of openai/gpt-oss-20b on Hugging Face; gpt-oss-120b ships the
same), the way transformers' apply_chat_template renders a template, with a fixed current date.

The template is not kept here: give the file that came with the model.

Usage: python3 tests/tools/make_harmony_fixtures.py --template /path/to/gpt-oss-20b/chat_template.jinja
Needs jinja2.
"""
import argparse
import json
import os

import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.normpath(os.path.join(HERE, "..", "data", "tokenizers", "harmony_chat.json"))
DATE = "2025-06-28"

SYSTEM = "You answer in one sentence and cite the page."
CASES = [
    # (messages, add_generation_prompt, reasoning_effort)
    ([{"role": "user", "content": "What is 2 + 2?"}], True, "medium"),
    ([{"role": "system", "content": SYSTEM}, {"role": "user", "content": "When did the outage start?"}], True, "medium"),
    ([{"role": "system", "content": SYSTEM},
      {"role": "user", "content": "When did the outage start?"},
      {"role": "assistant", "content": "At 02:14 UTC [report.pdf, page 3]."},
      {"role": "user", "content": "And when did it end?"}], True, "medium"),
    ([{"role": "user", "content": "What is 2 + 2?"},
      {"role": "assistant", "content": "4"},
      {"role": "user", "content": "What is 3 + 5?"},
      {"role": "assistant", "content": "8"},
      {"role": "user", "content": "And 9 / 2?"}], True, "low"),
    ([{"role": "user", "content": "What is 2 + 2?"}, {"role": "assistant", "content": "4"}], False, "medium"),
    ([{"role": "user", "content": "Line one\nline two\n\n  indented, trailing space "}], True, "high"),
    ([{"role": "developer", "content": "Answer like a robot."}, {"role": "user", "content": "Hello"}], True, "medium"),
    ([{"role": "system", "content": ""}, {"role": "user", "content": "Hello"}], True, "medium"),
    ([{"role": "user", "content": "Größe? 中文 😀 <b>bold</b>"},
      {"role": "system", "content": "a later system message"},
      {"role": "user", "content": "again"}], True, "medium"),
    ([{"role": "system", "content": "  padded system  \n"}, {"role": "user", "content": " padded "}], False, "medium"),
]


def environment():
    # As transformers' chat template rendering sets it up.
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: DATE  # the template asks for "%Y-%m-%d"
    return env


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--template", required=True, help="chat_template.jinja of openai/gpt-oss-20b")
    args = ap.parse_args()
    with open(args.template, encoding="utf-8") as f:
        template = environment().from_string(f.read())
    out = []
    for messages, gen, effort in CASES:
        text = template.render(messages=messages, add_generation_prompt=gen, reasoning_effort=effort)
        out.append({"messages": messages, "add_generation_prompt": gen, "reasoning_effort": effort,
                    "current_date": DATE, "expected": text})
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print("wrote", len(out), "renderings to", OUT)


if __name__ == "__main__":
    main()
