#!/usr/bin/env python3
"""Writes tests/data/gemma3_270m/perplexity.json: transformers' per-token log-probabilities and the
perplexity of the real Gemma 3 270M Q4_K_M GGUF over the sample incident report
(resources/samples/sample-report.txt), for `strata-cli perplexity` to be held against.

Usage:
    packaging/install-models.sh                       # puts the GGUF in the default models folder
    python3 tests/tools/make_gemma3_270m_perplexity.py [--gguf PATH] [--out DIR] [--strata-cli PATH]

Needs torch, transformers (>= 5), gguf, tokenizers and numpy. Runs on the CPU in float32 with eager
attention, as make_gemma3_270m_reference.py does (whose loader it uses); about six minutes on two cores.

The text is tokenised by the real Gemma 3 tokenizer.json and by the tokenizer transformers builds from
the GGUF (with <bos>, as `tokenizer(text)` does); the two must agree. With --strata-cli, Strata's own ids
for the text (`strata-cli perplexity --text-file ... --json`) must agree too.

Each run scores the tokens with Hugging Face's strided perplexity recipe: window k holds the tokens
[k*stride, k*stride + context); it scores the tokens no earlier window scored, except its own first token,
which has nothing before it (so the first window scores from its second token). A window is one forward
pass from an empty cache. The log-probability of token t is log_softmax(logits of t-1)[t], in float64.
The perplexity is exp of the mean negative log-probability over the scored tokens; it is checked against
the recipe's own computation from the model's loss with labels masked to -100.

Strata's CPU backend keeps the GGUF's Q8_0 matrices packed (exact) and holds its other quantised
matrices dequantised to float16; transformers holds them all in float32. For scale, each run also
records how far transformers' own log-probs move when its matrices are held as Strata holds them
(`strata_weights_max_logprob_shift`): the size of difference a parity tolerance has to allow; and the
log-probs, top-1 ids and perplexity of that model (`strata_weights_*`), which holds the same weights as
Strata does. Log-probs are stored rounded to 6 decimals (the perplexities are not).
"""

import argparse
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_gemma3_270m_reference import (  # noqa: E402
    MODEL_NAME, MODEL_SHA256, REPO_ROOT, SHARED_TOKENIZER, default_gguf_path, fail, load_checked_gguf)

TEXT_FILE = "resources/samples/sample-report.txt"
# (context, stride): the whole report in one window (Strata's default context is larger than the
# report), and overlapping windows smaller than Gemma 3's 512-token sliding window.
RUNS = [(4096, 4096), (256, 128)]


def windows(n, context, stride):
    """(begin, end, first scored token) of each window, as the Hugging Face recipe walks them."""
    out, scored_to, begin = [], 0, 0
    while True:
        end = min(begin + context, n)
        out.append((begin, end, max(scored_to, begin + 1)))
        scored_to = end
        if end == n:
            return out
        begin += stride


@torch.inference_mode()
def score(model, ids, context, stride):
    logprobs, top1, positions = [], [], []  # positions: the scored tokens, contiguous
    recipe_nll, recipe_count = 0.0, 0
    for begin, end, first in windows(len(ids), context, stride):
        window = torch.tensor([ids[begin:end]])
        out = model(window)
        rows = torch.log_softmax(out.logits[0].to(torch.float64), dim=-1)
        for t in range(first, end):
            row = rows[t - 1 - begin]
            positions.append(t)
            logprobs.append(float(row[ids[t]]))
            top1.append(int(torch.argmax(row)))
        # The recipe's own arithmetic: labels before the window's new tokens masked, the mean loss
        # over the tokens the shifted labels keep, weighted by their count.
        labels = window.clone()
        labels[0, :first - begin] = -100
        kept = int((labels[0, 1:] != -100).sum())
        loss = model(window, labels=labels).loss
        recipe_nll += float(loss) * kept
        recipe_count += kept
    nll = -float(np.mean(logprobs))
    recipe = math.exp(recipe_nll / recipe_count)
    if recipe_count != len(logprobs) or abs(recipe - math.exp(nll)) > 1e-4 * recipe:
        fail(f"context {context} stride {stride}: the recipe's loss gives perplexity {recipe} over {recipe_count} "
             f"tokens, the log-probs {math.exp(nll)} over {len(logprobs)}")
    if positions != list(range(positions[0], len(ids))):
        fail(f"context {context} stride {stride}: the scored tokens are not every token from {positions[0]} on")
    return {
        "context": context,
        "stride": stride,
        "windows": len(windows(len(ids), context, stride)),
        "scored": len(logprobs),
        "mean_nll": nll,
        "perplexity": math.exp(nll),
        "recipe_perplexity": recipe,
        "first_position": positions[0],
        "logprobs": logprobs,
        "top1": top1,
    }


@torch.inference_mode()
def as_strata_holds(model, gguf_path):
    """A copy of the model whose matrices (embedding and linear weights) are rounded to float16 and
    held in float32 again, except those the GGUF stores as Q8_0, which Strata's CPU backend keeps
    packed and so exact; norms stay as they are, as Strata keeps them."""
    import copy
    import gguf
    hf_name = {"attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
               "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
               "ffn_down": "mlp.down_proj"}
    exact = set()
    for t in gguf.GGUFReader(gguf_path).tensors:
        if t.tensor_type != gguf.GGMLQuantizationType.Q8_0:
            continue
        if t.name == "token_embd.weight":
            exact.add("model.embed_tokens.weight")
        else:
            _, layer, kind, _ = t.name.split(".")
            exact.add(f"model.layers.{layer}.{hf_name[kind]}.weight")
    held = copy.deepcopy(model)
    missing = exact - {name for name, _ in held.named_parameters()}
    if missing:
        fail(f"no parameter for the Q8_0 tensors {sorted(missing)}")
    for name, param in held.named_parameters():
        if param.dim() == 2 and name not in exact:
            param.copy_(param.to(torch.float16).to(torch.float32))
    return held


def strata_ids(cli, text_file):
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "strata.json"
        done = subprocess.run([cli, "perplexity", "--text-file", str(text_file), "--json", str(out)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            fail(f"{cli} perplexity failed: {done.stderr.strip()}")
        return json.loads(out.read_text())["token_ids"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gguf", type=Path, default=default_gguf_path())
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "tests" / "data" / "gemma3_270m")
    parser.add_argument("--strata-cli", help="also compare Strata's token ids for the text")
    args = parser.parse_args()

    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)
    import transformers

    model, hf_tok = load_checked_gguf(args.gguf)

    text_path = REPO_ROOT / TEXT_FILE
    text = text_path.read_text(encoding="utf-8")
    from tokenizers import Tokenizer
    ids = Tokenizer.from_file(str(SHARED_TOKENIZER)).encode(text).ids
    gguf_ids = hf_tok(text)["input_ids"]
    if gguf_ids != ids or ids[0] != 2:
        fail("the GGUF tokenizer and tokenizer.json disagree on the sample report (or no <bos>)")
    checks = {"gguf_tokenizer_matches_tokenizer_json": True}
    if args.strata_cli:
        same = strata_ids(args.strata_cli, text_path) == ids
        print(f"  Strata's ids {'agree' if same else 'DIFFER'}", flush=True)
        if not same:
            fail("strata-cli tokenises the sample report differently")
        checks["strata_ids_match"] = True
    print(f"  {len(ids)} tokens", flush=True)

    held = as_strata_holds(model, args.gguf)
    runs = []
    for context, stride in RUNS:
        run = score(model, ids, context, stride)
        shifted = score(held, ids, context, stride)
        shift = max(abs(a - b) for a, b in zip(run["logprobs"], shifted["logprobs"]))
        run["strata_weights_max_logprob_shift"] = shift
        run["strata_weights_perplexity"] = shifted["perplexity"]
        run["strata_weights_logprobs"] = shifted["logprobs"]
        run["strata_weights_top1"] = shifted["top1"]
        for key in ("logprobs", "strata_weights_logprobs"):
            run[key] = [round(x, 6) for x in run[key]]
        print(f"  context {context} stride {stride}: {run['windows']} windows, {run['scored']} scored, "
              f"perplexity {run['perplexity']:.6f} (recipe {run['recipe_perplexity']:.6f}); weights as Strata holds them: "
              f"perplexity {shifted['perplexity']:.6f}, log-probs move by up to {shift:.4f}", flush=True)
        runs.append(run)

    fixture = {
        "model": MODEL_NAME,
        "text_file": TEXT_FILE,
        "tokens": ids,
        "runs": runs,
        "generator": {
            "script": "tests/tools/make_gemma3_270m_perplexity.py",
            "transformers": transformers.__version__,
            "torch": torch.__version__,
            "dtype": "float32",
            "attention": "eager",
            "log_softmax": "float64",
            "gguf_sha256": MODEL_SHA256,
            "checks": checks,
        },
    }
    args.out.mkdir(parents=True, exist_ok=True)
    out_file = args.out / "perplexity.json"
    with open(out_file, "w") as f:
        json.dump(fixture, f, indent=None, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {out_file} ({out_file.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
