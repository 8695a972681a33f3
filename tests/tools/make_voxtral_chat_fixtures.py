#!/usr/bin/env python3
"""Writes tests/data/tekken/voxtral_chat.json: the token ids that mistral-common gives for Voxtral chat
and transcription requests, so the engine's Voxtral prompt layout can be checked id for id.

    pip install mistral-common==1.13.1 soundfile
    python3 tests/tools/make_voxtral_chat_fixtures.py [path/to/tekken_240911.json]

Without a path the file that packaging/install-models.sh installs is used
(~/.local/share/strata/models/tekken/tekken_240911.json), else the copy inside the installed
mistral_common package; its sha256 is recorded in the output.

tekken_240911.json (Mistral NeMo's Tekken file, version v3) has neither an "audio" section nor a
"special_tokens" table, so on its own mistral-common cannot encode audio with it. Voxtral's tekken.json
has the same kind of file with both; the script therefore loads a copy of the vocabulary with these
added (see VOXTRAL_SPECIALS and VOXTRAL_AUDIO): version v7, [AUDIO] = 24, [BEGIN_AUDIO] = 25,
[ARGS] = 32, [CALL_ID] = 33, [TRANSCRIBE] = 34, every other id below 1000 <SPECIAL_n>; audio at 16 kHz,
12.5 audio tokens per second, padded to whole 30 s chunks (so 375 audio tokens per 30 s chunk).
The text ids are those of tekken_240911.json itself. With version v11 instead of v7 every case gives
the same ids.

Cases (all audio is silence at 16 kHz; the content does not change the ids, only the length does):
  chat_audio_45s    user [audio 45 s, "What is said in this recording?"]
  chat_audio_10s    the same with 10 s of audio
  chat_multi_turn   user "Hello", assistant "Hi there.", user "Summarise the call." (text only)
  transcribe_en_45s TranscriptionRequest (as transformers' VoxtralProcessor.apply_transcription_request
                    builds it), language "en", 45 s of audio
  transcribe_auto_45s  the same with language None (the model detects the language)
Each case stores the full "ids" and "ids_compact", where each run of [AUDIO] ids is written as
{"audio_tokens": N}.
"""
import hashlib
import io
import json
import os
import sys
import tempfile
from pathlib import Path

import mistral_common
import numpy as np
import soundfile
from mistral_common.protocol.instruct.messages import AssistantMessage, AudioChunk, TextChunk, UserMessage
from mistral_common.protocol.instruct.request import ChatCompletionRequest
from mistral_common.protocol.transcription.request import TranscriptionRequest
from mistral_common.tokens.tokenizers.mistral import MistralTokenizer

OUT = Path(__file__).resolve().parent.parent / "data" / "tekken" / "voxtral_chat.json"
INSTALLED = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "strata" / "models" / \
    "tekken" / "tekken_240911.json"
SAMPLE_RATE = 16000
QUESTION = "What is said in this recording?"

VOXTRAL_SPECIALS = {
    0: "<unk>", 1: "<s>", 2: "</s>", 3: "[INST]", 4: "[/INST]", 5: "[AVAILABLE_TOOLS]", 6: "[/AVAILABLE_TOOLS]",
    7: "[TOOL_RESULTS]", 8: "[/TOOL_RESULTS]", 9: "[TOOL_CALLS]", 10: "[IMG]", 11: "<pad>", 12: "[IMG_BREAK]",
    13: "[IMG_END]", 14: "[PREFIX]", 15: "[MIDDLE]", 16: "[SUFFIX]", 17: "[SYSTEM_PROMPT]", 18: "[/SYSTEM_PROMPT]",
    19: "[TOOL_CONTENT]", 24: "[AUDIO]", 25: "[BEGIN_AUDIO]", 32: "[ARGS]", 33: "[CALL_ID]", 34: "[TRANSCRIBE]",
}
VOXTRAL_AUDIO = {
    "sampling_rate": SAMPLE_RATE, "frame_rate": 12.5, "chunk_length_s": 30.0,
    "audio_encoding_config": {"num_mel_bins": 128, "hop_length": 160, "window_size": 400},
}
VERSION = "v7"


def tekken_path() -> Path:
    if len(sys.argv) > 1:
        return Path(sys.argv[1])
    if INSTALLED.exists():
        return INSTALLED
    return Path(os.path.dirname(mistral_common.__file__)) / "data" / "tekken_240911.json"


def voxtral_tokenizer(path: Path, folder: str) -> MistralTokenizer:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert "audio" not in data and "special_tokens" not in data, "this tekken file has its own audio setup"
    num_special = data["config"]["default_num_special_tokens"]
    data["config"]["version"] = VERSION
    data["special_tokens"] = [{"rank": i, "token_str": VOXTRAL_SPECIALS.get(i, f"<SPECIAL_{i}>"), "is_control": True}
                              for i in range(num_special)]
    data["audio"] = json.loads(json.dumps(VOXTRAL_AUDIO))
    patched = Path(folder) / "tekken_voxtral.json"
    patched.write_text(json.dumps(data), encoding="utf-8")
    return MistralTokenizer.from_file(str(patched))


def wav_bytes(seconds: float) -> bytes:
    buf = io.BytesIO()
    soundfile.write(buf, np.zeros(int(seconds * SAMPLE_RATE), dtype=np.float32), SAMPLE_RATE, format="WAV",
                    subtype="FLOAT")
    return buf.getvalue()


def compact(ids: list[int], audio_id: int) -> list:
    out: list = []
    for t in ids:
        if t == audio_id:
            if out and isinstance(out[-1], dict):
                out[-1]["audio_tokens"] += 1
            else:
                out.append({"audio_tokens": 1})
        else:
            out.append(t)
    return out


def main() -> None:
    path = tekken_path()
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    with tempfile.TemporaryDirectory() as folder:
        tok = voxtral_tokenizer(path, folder)
    inner = tok.instruct_tokenizer.tokenizer
    special = {s: inner.get_special_token(s) for s in
               ("[INST]", "[/INST]", "[BEGIN_AUDIO]", "[AUDIO]", "[TRANSCRIBE]", "<s>", "</s>")}
    audio_id = special["[AUDIO]"]
    assert special["[AUDIO]"] == 24 and special["[BEGIN_AUDIO]"] == 25, special
    assert tok.instruct_tokenizer.audio_encoder is not None

    def chat(seconds: float) -> list[int]:
        request = ChatCompletionRequest(messages=[UserMessage(content=[
            AudioChunk(input_audio=wav_bytes(seconds)), TextChunk(text=QUESTION)])])
        return tok.encode_chat_completion(request).tokens

    def transcribe(seconds: float, language: str | None) -> list[int]:
        request = TranscriptionRequest.from_openai({"model": "voxtral", "file": io.BytesIO(wav_bytes(seconds)),
                                                 "language": language})
        return tok.instruct_tokenizer.encode_transcription(request).tokens

    multi = ChatCompletionRequest(messages=[UserMessage(content="Hello"), AssistantMessage(content="Hi there."),
                                            UserMessage(content="Summarise the call.")])
    cases = [
        ("chat_audio_45s", f"user: [45 s audio, text {QUESTION!r}]", 45.0, chat(45.0)),
        ("chat_audio_10s", f"user: [10 s audio, text {QUESTION!r}]", 10.0, chat(10.0)),
        ("chat_multi_turn", "user 'Hello'; assistant 'Hi there.'; user 'Summarise the call.'", 0.0,
         tok.encode_chat_completion(multi).tokens),
        ("transcribe_en_45s", "TranscriptionRequest, language 'en', 45 s audio", 45.0, transcribe(45.0, "en")),
        ("transcribe_auto_45s", "TranscriptionRequest, language None, 45 s audio", 45.0, transcribe(45.0, None)),
    ]
    lang_ids = inner.encode("lang:en", bos=False, eos=False)
    text_pieces = {s: inner.encode(s, bos=False, eos=False) for s in
                   (QUESTION, "Hello", "Hi there.", "Summarise the call.", "lang:en")}
    out = {
        "generator": "tests/tools/make_voxtral_chat_fixtures.py",
        "mistral_common": mistral_common.__version__,
        "tekken_file": path.name,
        "tekken_sha256": sha,
        "added_to_tekken_file": {"version": VERSION, "special_tokens": {v: k for k, v in VOXTRAL_SPECIALS.items()
                                                                        if k >= 20},
                                 "audio": VOXTRAL_AUDIO},
        "special_ids": special,
        "text_ids": text_pieces,
        "transcription_language_text": "lang:en",
        "transcription_language_ids": lang_ids,
        "cases": [],
    }
    for name, what, seconds, ids in cases:
        out["cases"].append({"name": name, "messages": what, "audio_seconds": seconds,
                             "audio_tokens": ids.count(audio_id), "ids": ids, "ids_compact": compact(ids, audio_id)})
        print(f"{name}: {len(ids)} ids, {ids.count(audio_id)} audio tokens: {json.dumps(compact(ids, audio_id))}")
        print("   ", repr(inner.decode(ids, special_token_policy="keep").replace("[AUDIO]", "")[:200]))
    text = json.dumps(out, indent=1)
    # One line per id list keeps the file short and readable.
    OUT.write_text(json.dumps(out, separators=(",", ":")) if len(text) > 200_000 else pretty(out), encoding="utf-8")
    print(f"{OUT}: {OUT.stat().st_size} bytes; special ids {special}; tekken sha256 {sha}")


def pretty(out: dict) -> str:
    lines = ["{"]
    items = list(out.items())
    for i, (k, v) in enumerate(items):
        comma = "," if i + 1 < len(items) else ""
        if k == "cases":
            lines.append(' "cases": [')
            for j, case in enumerate(v):
                fields = [f'  "{ck}": {json.dumps(cv)}' for ck, cv in case.items()]
                lines.append("  {\n" + ",\n".join(" " + f for f in fields) + "\n  }" + ("," if j + 1 < len(v) else ""))
            lines.append(" ]" + comma)
        else:
            lines.append(f" {json.dumps(k)}: {json.dumps(v)}{comma}")
    lines.append("}")
    text = "\n".join(lines) + "\n"
    assert json.loads(text) == out
    return text


if __name__ == "__main__":
    main()
