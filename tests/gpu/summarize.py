#!/usr/bin/env python3
"""The summary of a run-checks.sh output folder: how each step ended, what the gpu tests did, and
each benchmark figure beside the raw limit measured in the same run.

    python3 summarize.py OUT [--time-limit S] [--elapsed S]

Prints the summary and writes it to OUT/summary.txt, OUT/summary.md (tables for
docs/PERFORMANCE.md) and OUT/summary.json. Exits 1 when a step failed or timed out.
Standard library only: the GPU machine may have nothing else.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

GIB = 1024 ** 3


def read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def read_steps(out: Path) -> list[dict]:
    steps = []
    for line in (out / "steps.tsv").read_text().splitlines():
        name, status, seconds, detail = (line.split("\t") + ["", "", "", ""])[:4]
        steps.append({"step": name, "status": status, "seconds": float(seconds or 0), "detail": detail})
    return steps


def first_match(path: Path, pattern: str) -> str:
    try:
        for line in path.read_text(errors="replace").splitlines():
            if re.search(pattern, line):
                return line.strip()
    except OSError:
        pass
    return ""


def test_results(log: Path) -> dict | None:
    """Qt Test's totals and skip reasons from the ctest step's output."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return None
    totals = {"passed": 0, "failed": 0, "skipped": 0}
    for m in re.finditer(r"Totals: (\d+) passed, (\d+) failed, (\d+) skipped", text):
        for key, value in zip(totals, m.groups()):
            totals[key] += int(value)
    reasons = sorted({m.group(1).strip() for m in re.finditer(r"SKIP\s*:\s*\S+\(\S*\)\s+(.*)", text)})
    failures = sorted({m.group(1) for m in re.finditer(r"FAIL!\s*:\s*(\S+)", text)})
    suite = re.search(r"(\d+)% tests passed, (\d+) tests failed out of (\d+)", text)
    return {
        "functions": totals,
        "skip_reasons": reasons,
        "failed_functions": failures,
        "executables": int(suite.group(3)) if suite else None,
        "executables_failed": int(suite.group(2)) if suite else None,
    }


def gib(b: float) -> str:
    return f"{b / GIB:.2f} GiB"


def bench_rows(out: Path) -> list[dict]:
    """One row per figure: what we measured, the raw limit of the same run, and their ratio."""
    rows = []
    runs = [
        ("bench-4k", "4k prompt, 6 GiB VRAM"),
        ("bench-16k", "16k prompt, 6 GiB VRAM"),
        ("bench-vram", "whole model in VRAM (40 GiB budget)"),
        ("bench-disk", "6 GiB VRAM + 8 GiB RAM, rest from disk"),
        ("bench-cpu-tiny", "CPU, tiny model (host smoke test)"),
    ]
    for name, what in runs:
        j = read_json(out / f"{name}.json")
        if not j:
            continue
        raw, pre, dec = j["raw"], j["prefill"], j["decode"]
        device = j.get("vram_budget_bytes", 0) > 0
        rows.append({
            "figure": f"prefill, {what}",
            "ours": f"{pre['tokens_per_second']:.1f} tok/s = {pre['gflops'] / 1000:.2f} TFLOP/s "
                    f"({pre['tokens']} tokens in {pre['seconds']:.2f} s)",
            "limit": f"{raw['gemm']} {raw['gemm_gflops'] / 1000:.2f} TFLOP/s",
            "ratio": pre["fraction_of_raw_gemm"],
            "json": f"{name}.json",
        })
        parts = [f"{'VRAM' if device else 'memory'} {raw['weight_memory_gbps']:.1f} GB/s"]
        if device:
            parts.append(f"pinned H2D {raw['host_to_device_gbps']:.1f} GB/s")
        parts.append(f"disk {raw['disk_read_gbps']:.2f} GB/s ({raw['disk_read_method']})")
        moved = (f"{gib(dec['bytes_from_vram_per_token'])} VRAM + {gib(dec['bytes_from_ram_per_token'])} RAM + "
                 f"{gib(dec['bytes_from_disk_per_token'])} disk per token")
        rows.append({
            "figure": f"decode, {what}",
            "ours": f"{dec['ms_per_token']:.1f} ms/token ({dec['tokens_per_second']:.2f} tok/s)",
            "limit": f"bound {dec['bound_ms_per_token']:.1f} ms/token: {moved} at {', '.join(parts)}",
            "ratio": dec["fraction_of_bound"],
            "json": f"{name}.json",
        })
        if "vram" in j:
            v = j["vram"]
            rows.append({
                "figure": f"peak VRAM, {what}",
                "ours": f"{gib(v['pool_peak_bytes'])} of the pool",
                "limit": f"budget {gib(j['vram_budget_bytes'])} (pool {gib(v['pool_bytes'])}; "
                         f"{gib(v['device_in_use_bytes'])} in use on the device after the run)",
                "ratio": v["pool_peak_bytes"] / j["vram_budget_bytes"],
                "json": f"{name}.json",
            })
        s = j.get("session")
        if s:
            rows.append({
                "figure": f"follow-up on the saved session, {what}",
                "ours": f"first token after {s['ttft_follow_up_seconds']:.3f} s "
                        f"({s['follow_up_prefilled_tokens']} tokens prefilled)",
                "limit": f"{s['ttft_prompt_seconds']:.2f} s for the {s['context_tokens']}-token context",
                "ratio": s["ttft_follow_up_seconds"] / s["ttft_prompt_seconds"],
                "json": f"{name}.json",
            })
    media = read_json(out / "media.json")
    if media:
        gemm = media.get("gemm_gflops", 0)
        image, audio = media.get("image"), media.get("audio")
        limit = f"{media.get('backend', '?')} matmul, bf16 weight, {gemm:.0f} GFLOP/s"
        if image:
            rows.append({"figure": "encoder, SigLIP of Gemma 3 12B, one image (second encode)",
                         "ours": f"{image['second_encode_seconds']:.3f} s, {image['gflops']:.0f} GFLOP/s",
                         "limit": limit, "ratio": image["fraction_of_gemm"], "json": "media.json"})
        if audio:
            rows.append({"figure": "encoder, Voxtral Mini 3B tower, 45 s (two chunks)",
                         "ours": f"{audio['encode_45s_seconds']:.3f} s, {audio['gflops_45s']:.0f} GFLOP/s",
                         "limit": limit, "ratio": audio["fraction_of_gemm"], "json": "media.json"})
    return rows


def table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()
    return [line(headers), line(["-" * w for w in widths]), *map(line, rows)]


def markdown(headers: list[str], rows: list[list[str]]) -> list[str]:
    esc = lambda c: str(c).replace("|", "\\|")
    return ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers),
            *("| " + " | ".join(map(esc, r)) + " |" for r in rows)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--time-limit", type=int, default=0)
    ap.add_argument("--elapsed", type=int, default=0)
    args = ap.parse_args()
    out: Path = args.out

    steps = read_steps(out)
    devices = out / "devices.log"
    device = (first_match(devices, r"^device \d") or first_match(devices, r"no usable CUDA device|no CUDA backend")
              or "device: unknown (see devices.log)")
    bundle = first_match(out / "environment.log", r"^commit") or "commit: unknown"
    when = first_match(out / "environment.log", r"^date") or ""
    tests = test_results(out / "ctest.log")
    rows = bench_rows(out)

    step_rows = [[s["step"], s["status"], f"{s['seconds']:.1f}", s["detail"]] for s in steps]
    figure_rows = [[r["figure"], r["ours"], r["limit"], "" if r["ratio"] is None else f"{100 * r['ratio']:.0f}%"]
                   for r in rows]

    text = ["Strata GPU checks", f"  {when}", f"  {device}", f"  bundle {bundle}"]
    if args.time_limit:
        text.append(f"  {args.elapsed} s of the {args.time_limit} s limit")
    text += ["", *table(["step", "status", "seconds", "detail"], step_rows), ""]
    if tests:
        f = tests["functions"]
        text.append(f"gpu tests: {tests['executables'] if tests['executables'] is not None else '?'} executables, "
                    f"{tests['executables_failed'] if tests['executables_failed'] is not None else '?'} failed; "
                    f"test functions {f['passed']} passed, {f['failed']} failed, {f['skipped']} skipped")
        for reason in tests["skip_reasons"]:
            text.append(f"  skipped: {reason}")
        for name in tests["failed_functions"]:
            text.append(f"  FAILED: {name}")
        text.append("")
    reasons: dict[str, list[str]] = {}
    for s in steps:
        if s["status"] == "skipped":
            reasons.setdefault(s["detail"], []).append(s["step"])
    for reason, names in reasons.items():
        text.append(f"skipped {', '.join(names)}: {reason}")
    if reasons:
        text.append("")
    if figure_rows:
        text += [*table(["figure", "ours", "raw limit, same run", "ratio"], figure_rows), ""]
    else:
        text += ["no benchmark figures: no bench step produced JSON", ""]

    md = [f"Measured {when.removeprefix('date (UTC)').strip()} UTC; {device}; bundle {bundle}.", "",
          *markdown(["step", "status", "seconds", "detail"], step_rows), ""]
    if figure_rows:
        md += [*markdown(["figure", "ours", "raw limit, same run", "ratio"], figure_rows), ""]

    (out / "summary.txt").write_text("\n".join(text) + "\n")
    (out / "summary.md").write_text("\n".join(md) + "\n")
    (out / "summary.json").write_text(json.dumps(
        {"device": device, "bundle": bundle, "date": when, "steps": steps, "tests": tests, "figures": rows},
        indent=2) + "\n")
    print("\n".join(text))
    return 1 if any(s["status"] in ("failed", "timed out") for s in steps) else 0


if __name__ == "__main__":
    sys.exit(main())
