#!/usr/bin/env python3
"""PyTorch CPU peer for `deno task bench`, driven over stdin/stdout one JSON object per line.

The timing policy (warm-up, calibration, reps, median) lives in bench/harness.ts; this process only builds a
case and times `iters` iterations of it when asked, so the harness can interleave the peer's reps with ours
(other load on the machine then skews both sides alike).

    /usr/bin/python3 bench/torch_peer.py --threads 2
    -> {"peer": "torch", "version": ..., "threads": 2, ...}          (printed once at start)
    <- {"op": "setup", "group": "matmul", "params": {"m": 256, "n": 256, "k": 256}}   -> {"ok": true}
    <- {"op": "run", "iters": 8}                                                        -> {"ms": 1.23}
    <- {"op": "quit"}

To add a group, write a setup function returning run(iters) and register it in GROUPS.
"""
import argparse
import ctypes
import json
import re
import sys
import time

import torch


def matmul(m, n, k):
    """C (m, n) = A (m, k) @ B (k, n), written into a preallocated C like the Deno side."""
    gen = torch.Generator().manual_seed(0)
    a = torch.rand(m, k, generator=gen) - 0.5
    b = torch.rand(k, n, generator=gen) - 0.5
    c = torch.empty(m, n)

    def run(iters):
        for _ in range(iters):
            torch.mm(a, b, out=c)

    return run


GROUPS = {"matmul": matmul}


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


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    reply({
        "peer": "torch",
        "version": torch.__version__,
        "threads": torch.get_num_threads(),
        "openblasThreads": openblas_threads(),
        "cpuCapability": cpu_capability(),
        "groups": sorted(GROUPS),
    })
    run = None
    for line in sys.stdin:
        req = json.loads(line)
        try:
            if req["op"] == "setup":
                run = GROUPS[req["group"]](**req["params"])
                reply({"ok": True})
            elif req["op"] == "run":
                t = time.perf_counter()
                run(req["iters"])
                reply({"ms": (time.perf_counter() - t) * 1e3})
            elif req["op"] == "quit":
                break
            else:
                reply({"error": f"unknown op {req['op']!r}"})
        except Exception as e:  # reported to the harness, which names the case
            reply({"error": f"{type(e).__name__}: {e}"})


if __name__ == "__main__":
    main()
