#!/usr/bin/env python3
"""PyTorch CPU peer for `deno task bench`: runs one benchmark group and prints one JSON object on stdout.

Usage: torch_peer.py matmul --threads 2 --cases 256x256x256,4096x1024x256 [--quick]
(cases are MxNxK: C (M, N) = A (M, K) @ B (K, N)). The timing loop mirrors `measure` in bench/harness.ts:
one warm-up call, inner iterations doubled until a rep lasts >= the target, then the median of reps.
To add a group, add a function taking the parsed args and register it in GROUPS.
"""
import argparse
import ctypes
import json
import re
import statistics
import time

import torch


def measure(run, quick):
    """Median ms per iteration of run(iters); same policy as bench/harness.ts."""
    target_ms = 20 if quick else 100
    run(1)
    iters = 1
    while True:
        t = time.perf_counter()
        run(iters)
        ms = (time.perf_counter() - t) * 1e3
        if ms >= target_ms or ms > 1000:
            break
        iters *= 2
    reps = 3 if quick or ms / iters > 1000 else 7
    samples = []
    for _ in range(reps):
        t = time.perf_counter()
        run(iters)
        samples.append((time.perf_counter() - t) * 1e3 / iters)
    return {"medianMs": statistics.median(samples), "reps": reps, "iters": iters, "samplesMs": samples}


def openblas_threads():
    """Threads of the OpenBLAS that torch's generic BLAS resolves to, when that is OpenBLAS."""
    try:
        return ctypes.CDLL("libopenblas.so.0").openblas_get_num_threads()
    except (OSError, AttributeError):
        return None


def cpu_capability():
    """The SIMD level torch's own kernels use, e.g. "AVX2" (its sgemm is the BLAS's)."""
    found = re.search(r"CPU capability usage: (\S+)", torch.__config__.show())
    return found.group(1) if found else None


def matmul(args):
    results = []
    for case in args.cases.split(","):
        m, n, k = (int(v) for v in case.split("x"))
        gen = torch.Generator().manual_seed(0)
        a = torch.rand(m, k, generator=gen) - 0.5
        b = torch.rand(k, n, generator=gen) - 0.5
        c = torch.empty(m, n)

        def run(iters):
            for _ in range(iters):
                torch.mm(a, b, out=c)

        t = measure(run, args.quick)
        results.append({"m": m, "n": n, "k": k, "gflops": 2 * m * n * k / t["medianMs"] / 1e6, **t})
    return results


GROUPS = {"matmul": matmul}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("group", choices=sorted(GROUPS))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--cases", default="")
    p.add_argument("--quick", action="store_true")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    results = GROUPS[args.group](args)
    info = {
        "peer": "torch",
        "version": torch.__version__,
        "threads": torch.get_num_threads(),
        "openblasThreads": openblas_threads(),
        "cpuCapability": cpu_capability(),
        "results": results,
    }
    print(json.dumps(info))


if __name__ == "__main__":
    main()
