#!/usr/bin/env python3
"""The rational function behind kernels.c's gelu_backward4 (a tool, run by hand; numpy only).

GELU's derivative is gelu'(x) = Φ(x) + x·φ(x) = ½ + h(x) with h odd and h(±6) = ±½ within 4e-8, so on s = x/6 in
[−1, 1] it fits h(x) ≈ s·P(s²)/Q(s²), P of degree 7, Q of degree 5 with Q(0) = 1: linearised least squares
(x·P − h·Q = 0 weighted by 1/Q of the previous round), with Lawson's reweighting towards the minimax fit. Prints the
fit error, the error of the coefficients rounded to float32 and evaluated in float32 as the kernel does (Horner, no
FMA), and the coefficients for init_constants.

    /usr/bin/python3 lib/backend/cpu/simd/gelu_grad_fit.py
"""
from math import erf, pi, sqrt

import numpy as np

X, M, N = 6.0, 7, 5


def h(x):
    """Odd part of gelu': ½·erf(x/√2) + x·φ(x)."""
    return 0.5 * np.vectorize(erf)(x / sqrt(2)) + x * np.exp(-x * x / 2) / sqrt(2 * pi)


def fit(rounds=400):
    x = (X * (1 - np.cos(np.linspace(0, pi, 4000))) / 2)[1:]  # Chebyshev-like points in (0, X]
    f, s = h(x), x / X
    t = s * s
    weight, q_prev, best = np.ones_like(x), np.ones_like(x), None
    for _ in range(rounds):
        cols = [s * t**i for i in range(M + 1)] + [-f * t**j for j in range(1, N + 1)]
        a = np.stack(cols, 1) * (weight / q_prev)[:, None]
        sol = np.linalg.lstsq(a, f * weight / q_prev, rcond=None)[0]
        p, q = sol[: M + 1], np.concatenate([[1.0], sol[M + 1 :]])
        q_prev = np.polyval(q[::-1], t)
        err = s * np.polyval(p[::-1], t) / q_prev - f
        worst = np.max(np.abs(err))
        if best is None or worst < best[0]:
            best = (worst, p.copy(), q.copy())
        weight = weight * np.sqrt(np.abs(err) / worst + 1e-3)
        weight /= weight.max()
    return best


def float32_error(p, q):
    """Max |gelu' − ½ − s·P/Q| over [−8, 8] with float32 coefficients and arithmetic, as the kernel runs it."""
    f32 = np.float32
    x = np.linspace(-8, 8, 2000001).astype(f32)
    s = np.clip(x, f32(-X), f32(X)) * f32(1 / X)
    t = s * s
    num, den = np.full_like(t, f32(p[-1])), np.full_like(t, f32(q[-1]))
    for c in p[-2::-1]:
        num = num * t + f32(c)
    for c in q[-2::-1]:
        den = den * t + f32(c)
    got = (f32(0.5) + (s * num) / den).astype(np.float64)
    xd = x.astype(np.float64)
    return np.max(np.abs(got - (0.5 + h(xd))))


if __name__ == "__main__":
    worst, p, q = fit()
    print(f"fit error {worst:.3g}, float32 evaluation error {float32_error(p, q):.3g}")
    for i, c in enumerate(p):
        print(f"  k->dg_p{i} = {float(np.float32(c))!r}f;")
    for j, c in enumerate(q[1:], 1):
        print(f"  k->dg_q{j} = {float(np.float32(c))!r}f;")
