#!/usr/bin/env python3
"""Where PyTorch's CPU training step goes, op by op: the peer's step (bench/torch_peer.py, the same model and batch
as `bench/profile_step.ts`) under torch.profiler, ops by self CPU time, with the matrix products' share. Run beside
our profile to compare where each side spends a step.

    /usr/bin/python3 bench/torch_profile.py --preset small --arch normformer [--style fairseq|nanogpt]
                                            [--threads 2] [--steps 5] [--top 15]

Presets mirror lib/train/presets.ts at the bench's shapes: tiny (L 2, C 64, H 2, F 256, T 64, B 8), small (L 6,
C 128, H 4, F 512, T 128, B 16), 12L (small with 12 layers). V = 256.
"""
import argparse
import time

import torch
from torch.profiler import ProfilerActivity, profile

from torch_peer import _model_and_batch, _step

PRESETS = {
    "tiny": dict(d=64, heads=2, dff=256, layers=2, context=64, batch=8),
    "small": dict(d=128, heads=4, dff=512, layers=6, context=128, batch=16),
    "12L": dict(d=128, heads=4, dff=512, layers=12, context=128, batch=16),
}
MATMUL = {"aten::mm", "aten::addmm", "aten::bmm", "aten::matmul", "aten::linear"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", choices=sorted(PRESETS), default="small")
    ap.add_argument("--arch", choices=["preln", "normformer"], default="normformer")
    ap.add_argument("--style", choices=["fairseq", "nanogpt"], default="fairseq")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--top", type=int, default=15)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    shape = PRESETS[args.preset]
    model, opt, ids, targets = _model_and_batch(vocab=256, arch=args.arch, style=args.style, params=None,
                                                dropout=(0.0, 0.0, 0.0), **shape)
    for _ in range(2):
        _step(model, opt, ids, targets, 1)
    t = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(args.steps):
            _step(model, opt, ids, targets, 1)
    step_ms = (time.perf_counter() - t) * 1e3 / args.steps
    tokens = shape["batch"] * shape["context"]
    rows = [(e.key, e.self_cpu_time_total / 1e3 / args.steps, e.count / args.steps) for e in prof.key_averages()]
    rows.sort(key=lambda r: -r[1])
    total = sum(r[1] for r in rows)
    matmul = sum(r[1] for r in rows if r[0] in MATMUL)
    print(f"torch {torch.__version__} {args.style} {args.arch} {args.preset}, {args.threads} threads: step "
          f"{step_ms:.1f} ms under the profiler ({tokens / step_ms * 1e3:.0f} tokens/s); matrix products "
          f"{matmul:.1f} ms ({matmul / total * 100:.0f}% of op self time {total:.1f} ms)")
    print(f"{'op':32}{'calls':>7}{'ms/step':>9}{'%':>7}")
    for key, ms, calls in rows[: args.top]:
        print(f"{key:32}{calls:7.0f}{ms:9.2f}{ms / total * 100:7.1f}")


if __name__ == "__main__":
    main()
