#!/usr/bin/env python3
"""Writes tests/data/sampling/warpers.json: logit vectors pushed through transformers' logits
processors in the order generate() uses, so that Strata's Sampler can be checked against them.

Each case stores the input logits, the token history, the parameters, the logits after the
repetition penalty and temperature (what Sampler leaves in place), and the surviving token ids with
their renormalised probabilities. Cases whose outcome hangs on a float rounding at a top-p or
min-p boundary are rejected, so that the comparison is about semantics, not last bits.

Usage: python3 tests/tools/make_sampling_fixtures.py [output.json]
"""
import json
import math
import pathlib
import sys

import numpy as np
import torch
from transformers import (LogitsProcessorList, MinPLogitsWarper, RepetitionPenaltyLogitsProcessor,
                          TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper)

MARGIN = 1e-4


def processors(p, warp):
    procs = LogitsProcessorList()
    if p["repetition_penalty"] != 1.0:
        procs.append(RepetitionPenaltyLogitsProcessor(p["repetition_penalty"]))
    if not warp:
        return procs
    if p["temperature"] != 1.0:
        procs.append(TemperatureLogitsWarper(p["temperature"]))
    if p["top_k"] != 0:
        procs.append(TopKLogitsWarper(p["top_k"]))
    if p["top_p"] < 1.0:
        procs.append(TopPLogitsWarper(p["top_p"]))
    if p["min_p"] > 0.0:
        procs.append(MinPLogitsWarper(p["min_p"]))
    return procs


def check_margins(scores, p):
    """Reject cases where a top-p or min-p decision is within MARGIN of its threshold."""
    x = scores.double()
    if p["top_k"]:
        kth = torch.topk(x, min(p["top_k"], x.numel())).values[-1]
        x = x.masked_fill(x < kth, -math.inf)
    probs = torch.softmax(x, -1)
    if p["top_p"] < 1.0:
        cum = torch.cumsum(torch.sort(probs, descending=True).values, -1)
        assert torch.all((cum - p["top_p"]).abs() > MARGIN), f"top-p boundary too close: {p}"
    if p["min_p"] > 0.0:
        ratio = probs / probs.max()
        assert torch.all((ratio - p["min_p"]).abs() > MARGIN), f"min-p boundary too close: {p}"


def make_case(name, logits, history, **params):
    p = dict(temperature=1.0, top_k=0, top_p=1.0, min_p=0.0, repetition_penalty=1.0)
    p.update(params)
    logits = [float(np.float32(v)) for v in logits]
    scores = torch.tensor([logits], dtype=torch.float32)
    ids = torch.tensor([history if history else [0]], dtype=torch.long)
    if not history:
        ids = ids[:, :0]
    greedy = p["temperature"] == 0.0

    penalised = processors(p, warp=False)(ids, scores.clone())
    after = penalised if greedy or p["temperature"] == 1.0 else penalised / p["temperature"]
    case = dict(name=name, logits=logits, history=history, params=p,
                logits_after=[float(v) for v in after[0]])
    if greedy:
        # generate() without sampling: argmax after the processors, no warpers.
        case["expected"] = dict(ids=[int(torch.argmax(penalised[0]))], probs=[1.0])
        return case

    check_margins(after[0], p)
    out = processors(p, warp=True)(ids, scores.clone())[0]
    probs = torch.softmax(out.double(), -1)
    keep = torch.nonzero(torch.isfinite(out)).flatten().tolist()
    keep.sort(key=lambda i: (-float(probs[i]), i))
    case["expected"] = dict(ids=keep, probs=[float(probs[i]) for i in keep])
    return case


def main():
    out_path = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else (
        pathlib.Path(__file__).resolve().parents[1] / "data" / "sampling" / "warpers.json")
    rng = np.random.default_rng(20240611)
    a = (rng.standard_normal(32) * 2.0).tolist()
    b = (rng.standard_normal(200) * 3.0).tolist()
    c = [5.0, 4.5, 4.5, 3.0, -1.0, -2.5, 0.25, 2.0, -0.5, 1.0, 3.5, -4.0]
    history_a = [3, 3, 7, 11, 0, 31, 7]
    history_c = [0, 4, 5, 5, 1]

    cases = [
        make_case("plain_softmax", a, []),
        make_case("temperature_0_7", a, [], temperature=0.7),
        make_case("temperature_1_5", b, [], temperature=1.5),
        make_case("top_k_5", a, [], top_k=5),
        make_case("top_k_ties_kept", c, [], top_k=2),
        make_case("top_k_larger_than_vocab", c, [], top_k=100),
        make_case("top_p_0_9", a, [], top_p=0.9),
        make_case("top_p_0_5_temp", b, [], temperature=0.8, top_p=0.5),
        make_case("top_p_tiny_keeps_one", a, [], top_p=0.01),
        make_case("min_p_0_1", a, [], min_p=0.1),
        make_case("min_p_0_05_temp", b, [], temperature=1.3, min_p=0.05),
        make_case("penalty_1_3", c, history_c, repetition_penalty=1.3),
        make_case("penalty_0_8_reward", a, history_a, repetition_penalty=0.8),
        make_case("all_warpers", b, [1, 5, 9, 5, 199, 42], repetition_penalty=1.2,
                  temperature=0.9, top_k=40, top_p=0.85, min_p=0.02),
        make_case("top_k_then_top_p", a, history_a, temperature=1.2, top_k=10, top_p=0.7),
        make_case("greedy_plain", a, [], temperature=0.0),
        make_case("greedy_penalty_changes_winner", c, [0], temperature=0.0, repetition_penalty=1.5),
    ]
    out_path.parent.mkdir(parents=True, exist_ok=True)
    # One case per line keeps the file small and its diffs readable.
    lines = ",\n".join(json.dumps(c) for c in cases)
    out_path.write_text('{"generator": "tests/tools/make_sampling_fixtures.py",\n"cases": [\n'
                        + lines + "\n]}\n")
    print(f"wrote {len(cases)} cases to {out_path}")


if __name__ == "__main__":
    main()
