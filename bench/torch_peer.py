#!/usr/bin/env python3
"""PyTorch CPU peer for `deno task bench`, driven over stdin/stdout one JSON object per line.

The timing policy (warm-up, calibration, reps, median) lives in bench/harness.ts; this process only builds a
case and times `iters` iterations of it when asked, so the harness can interleave the peer's reps with ours
(other load on the machine then skews both sides alike).

    /usr/bin/python3 bench/torch_peer.py --threads 2
    -> {"peer": "torch", "version": ..., "threads": 2, ...}          (printed once at start)
    <- {"op": "setup", "group": "matmul", "params": {"m": 256, "n": 256, "k": 256}}   -> {"ok": true}
    <- {"op": "run", "iters": 8}                                                        -> {"ms": 1.23}
    <- {"op": "setup", "id": "b", ...} / {"op": "run", "id": "b", ...}   several cases at once, by id
    <- {"op": "drop", "id": "b"}                                         frees a case  -> {"ok": true}
    <- {"op": "quit"}

To add a group, write a setup function returning run(iters) and register it in GROUPS. Each setup mirrors a Deno
group's case: the same op (fused where PyTorch fuses it, autograd for backward as a PyTorch user gets it), the
same shapes, fp32.

    /usr/bin/python3 bench/torch_peer.py --threads 2 --peak-memory '{"style": "fairseq", "steps": 2, ...}'

runs training steps of one model in this fresh process and prints one JSON line with its peak RSS (VmHWM) and the
RSS after `import torch` (bench/peak_memory.ts).
"""
import argparse
import ctypes
import json
import re
import sys
import time

import torch
import torch.nn.functional as F

from torch_nanogpt import build, optimizer, param_count


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


def _grad_runner(forward, inputs, upstream):
    """run(iters): forward then the vector-Jacobian product with `upstream`, like a training step's use."""

    def run(iters):
        for _ in range(iters):
            torch.autograd.grad(forward(), inputs, upstream)

    return run


def layer_norm(rows, cols):
    """LayerNorm over the last axis (eps 1e-5), forward + backward (dx, dgain, dbias)."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(rows, cols, generator=gen).requires_grad_()
    g, b = torch.ones(cols, requires_grad=True), torch.zeros(cols, requires_grad=True)
    dy = torch.randn(rows, cols, generator=gen)
    return _grad_runner(lambda: F.layer_norm(x, (cols,), g, b, 1e-5), [x, g, b], dy)


def gelu(rows, cols):
    """Exact (erf) GELU, forward + backward, as the FFN's activation (B·T, F)."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(rows, cols, generator=gen).requires_grad_()
    dy = torch.randn(rows, cols, generator=gen)
    return _grad_runner(lambda: F.gelu(x), [x], dy)


def bias_add(rows, cols):
    """y = x + b broadcast over rows, forward + backward (dx = dy passed on, db = dy summed over rows)."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(rows, cols, generator=gen).requires_grad_()
    b = torch.randn(cols, generator=gen).requires_grad_()
    dy = torch.randn(rows, cols, generator=gen)
    return _grad_runner(lambda: x + b, [x, b], dy)


def attention_softmax(rows, t):
    """Causal mask then softmax over scores (rows = B·H, T, T), forward + backward."""
    gen = torch.Generator().manual_seed(0)
    s = torch.randn(rows, t, t, generator=gen).requires_grad_()
    mask = torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1)
    dp = torch.randn(rows, t, t, generator=gen)
    return _grad_runner(lambda: F.softmax(s.masked_fill(mask, float("-inf")), dim=-1), [s], dp)


def cross_entropy(rows, cols):
    """Mean cross-entropy of logits (rows, cols) against int targets, forward + backward (dlogits)."""
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(rows, cols, generator=gen).requires_grad_()
    targets = torch.randint(cols, (rows,), generator=gen)
    return _grad_runner(lambda: F.cross_entropy(logits, targets), [logits], torch.ones(()))


def adamw(size):
    """One torch.optim.AdamW update (beta 0.9, 0.98; eps 1e-8; wd 0.01) of one parameter of `size` elements."""
    gen = torch.Generator().manual_seed(0)
    p = torch.nn.Parameter(torch.randn(size, generator=gen))
    p.grad = torch.randn(size, generator=gen) * 1e-3
    opt = torch.optim.AdamW([p], lr=1e-3, betas=(0.9, 0.98), eps=1e-8, weight_decay=0.01)

    def run(iters):
        with torch.no_grad():
            for _ in range(iters):
                opt.step()

    return run


def _model_and_batch(vocab, d, heads, dff, layers, context, batch, arch, style, params, dropout):
    """The model of `style` (see torch_nanogpt.build), its AdamW and a fixed batch; `params` is our parameter count."""
    torch.manual_seed(0)
    p_drop, p_attn, p_act = dropout
    model = build(style, vocab=vocab, d=d, heads=heads, dff=dff, layers=layers, context=context, arch=arch,
                  dropout=p_drop, attn_dropout=p_attn, act_dropout=p_act)
    if params is not None and param_count(model) != params:  # the comparison is only fair on the same model
        raise ValueError(f"{style} {arch} model has {param_count(model)} parameters, ours {params}")
    opt = optimizer(model, style)
    gen = torch.Generator().manual_seed(1)
    ids = torch.randint(vocab, (batch, context), generator=gen)
    targets = torch.randint(vocab, (batch, context), generator=gen)
    return model, opt, ids, targets


def _step(model, opt, ids, targets, update_freq):
    """One update: `update_freq` forward + backward passes (each loss scaled by 1/update_freq), then AdamW."""
    for _ in range(update_freq):
        loss = model.loss(ids, targets)
        (loss if update_freq == 1 else loss / update_freq).backward()
        loss.item()
    opt.step()
    opt.zero_grad(set_to_none=True)


def train_step(vocab, d, heads, dff, layers, context, batch, arch, style="fairseq", params=None, update_freq=1,
               dropout=(0.0, 0.0, 0.0)):
    """Forward + backward + AdamW of the `style` model (torch_nanogpt.build) on a fixed batch; loss.item() each pass."""
    model, opt, ids, targets = _model_and_batch(vocab, d, heads, dff, layers, context, batch, arch, style, params,
                                                dropout)

    def run(iters):
        for _ in range(iters):
            _step(model, opt, ids, targets, update_freq)

    return run


def _proc_status(key):
    """A /proc/self/status field in bytes (VmRSS, VmHWM)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(key)


def peak_memory(steps, **case):
    """`steps` updates of `case` (train_step's parameters); the process's RSS before the model and its peak."""
    base = _proc_status("VmRSS")
    case = dict(case, dropout=tuple(case.get("dropout", (0.0, 0.0, 0.0))))
    update_freq = case.pop("update_freq", 1)
    model, opt, ids, targets = _model_and_batch(**case)
    t = time.perf_counter()
    for _ in range(steps):
        _step(model, opt, ids, targets, update_freq)
    return {"peakBytes": _proc_status("VmHWM"), "baseBytes": base, "params": param_count(model),
            "seconds": time.perf_counter() - t}


GROUPS = {
    "matmul": matmul,
    "layerNorm": layer_norm,
    "gelu": gelu,
    "biasAdd": bias_add,
    "attentionSoftmax": attention_softmax,
    "crossEntropy": cross_entropy,
    "adamw": adamw,
    "trainStep": train_step,
}


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
    p.add_argument("--peak-memory", help="a JSON case: run it, print its peak RSS, exit")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    if args.peak_memory:
        reply(peak_memory(**json.loads(args.peak_memory)))
        return
    reply({
        "peer": "torch",
        "version": torch.__version__,
        "threads": torch.get_num_threads(),
        "openblasThreads": openblas_threads(),
        "cpuCapability": cpu_capability(),
        "groups": sorted(GROUPS),
    })
    cases = {}  # id -> run(iters); a setup without an id replaces the case ""
    for line in sys.stdin:
        req = json.loads(line)
        try:
            if req["op"] == "setup":
                cases.pop(req.get("id", ""), None)  # free the old case before building the new one
                cases[req.get("id", "")] = GROUPS[req["group"]](**req["params"])
                reply({"ok": True})
            elif req["op"] == "run":
                t = time.perf_counter()
                cases[req.get("id", "")](req["iters"])
                reply({"ms": (time.perf_counter() - t) * 1e3})
            elif req["op"] == "drop":
                cases.pop(req["id"], None)
                reply({"ok": True})
            elif req["op"] == "quit":
                break
            else:
                reply({"error": f"unknown op {req['op']!r}"})
        except Exception as e:  # reported to the harness, which names the case
            reply({"error": f"{type(e).__name__}: {e}"})


if __name__ == "__main__":
    main()
