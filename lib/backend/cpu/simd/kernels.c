/*
 * The CPU backend's float32 kernels in WebAssembly SIMD (f32x4), built by `deno task wasm` (build.ts) into
 * kernels.wasm.ts. Every array is a pointer into the one shared WebAssembly.Memory the CPU backend allocates its
 * tensors in (heap.ts), so the main thread and the worker threads run these on the same memory without copies.
 *
 * Rules that keep results bit-identical however a call is split across threads: an element-wise kernel computes
 * every element with the same f32x4 instruction sequence (a tail shorter than four lanes is loaded into a vector,
 * never computed by scalar code, and there is no FMA), and a row kernel reduces each row in one fixed order. No
 * kernel takes the address of a local, so none uses the shadow stack (instances on several threads share it);
 * build.ts checks that. Legend: R rows (lo…hi), C columns, N elements.
 */
#include <wasm_simd128.h>
#include <stdint.h>

#define EXPORT __attribute__((visibility("default")))
typedef v128_t f4;

static inline f4 splat(float x) { return wasm_f32x4_splat(x); }
static inline f4 add(f4 a, f4 b) { return wasm_f32x4_add(a, b); }
static inline f4 sub(f4 a, f4 b) { return wasm_f32x4_sub(a, b); }
static inline f4 mul(f4 a, f4 b) { return wasm_f32x4_mul(a, b); }
static inline f4 dvd(f4 a, f4 b) { return wasm_f32x4_div(a, b); }
static inline f4 ld(const float* p) { return wasm_v128_load(p); }
static inline void st(float* p, f4 v) { wasm_v128_store(p, v); }

/* The first n < 4 lanes of p (the rest `fill`), and their store back: tails go through the vector path. */
static inline f4 ld_fill(const float* p, int n, float fill) {
  f4 v = splat(fill);
  if (n > 0) v = wasm_v128_load32_lane(p, v, 0);
  if (n > 1) v = wasm_v128_load32_lane(p + 1, v, 1);
  if (n > 2) v = wasm_v128_load32_lane(p + 2, v, 2);
  return v;
}
static inline f4 ld_part(const float* p, int n) { return ld_fill(p, n, 0.0f); }
static inline void st_part(float* p, f4 v, int n) {
  if (n > 0) wasm_v128_store32_lane(p, v, 0);
  if (n > 1) wasm_v128_store32_lane(p + 1, v, 1);
  if (n > 2) wasm_v128_store32_lane(p + 2, v, 2);
}

static inline float hsum(f4 v) {
  return (wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1)) +
         (wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3));
}
/* The max of x[0…n) (−∞ when n is 0), NaN when any is NaN: pmax (one instruction) and a NaN mask on the side. */
static inline float row_max(const float* x, int n) {
  f4 m = splat(-__builtin_inff());
  v128_t nan = wasm_i32x4_splat(0);
  int c = 0;
  for (; c + 4 <= n; c += 4) {
    f4 v = ld(x + c);
    m = wasm_f32x4_pmax(m, v);
    nan = wasm_v128_or(nan, wasm_f32x4_ne(v, v));
  }
  if (c < n) {
    f4 v = ld_fill(x + c, n - c, -__builtin_inff());
    m = wasm_f32x4_pmax(m, v);
    nan = wasm_v128_or(nan, wasm_f32x4_ne(v, v));
  }
  if (wasm_v128_any_true(nan)) return __builtin_nanf("");
  m = wasm_f32x4_pmax(m, wasm_i32x4_shuffle(m, m, 2, 3, 0, 1));
  m = wasm_f32x4_pmax(m, wasm_i32x4_shuffle(m, m, 1, 0, 3, 2));
  return wasm_f32x4_extract_lane(m, 0);
}
static inline double hsum_d(v128_t v) { return wasm_f64x2_extract_lane(v, 0) + wasm_f64x2_extract_lane(v, 1); }
/*
 * The constants of exp4, erf4 and GELU, in memory at a fixed address of the module's reserved first pages, written
 * once by init_constants: a loop then reads each with one broadcast load, where a v128.const would be rebuilt in
 * every iteration (V8 does not hoist it: 2.3× slower on the polynomial alone).
 */
typedef struct {
  float exp_lo, exp_lo_normal, exp_hi, log2e, half, ln2_hi, ln2_lo, e0, e1, e2, e3, e4, e5, one, zero;
  int32_t bias127, magic_bits;
  float magic;
  float erf_hi, erf_lo, a13, a11, a9, a7, a5, a3, a1, b8, b6, b4, b2, b0;
  float inv_sqrt2;
  float dg_hi, dg_lo, dg_inv_hi, dg_p7, dg_p6, dg_p5, dg_p4, dg_p3, dg_p2, dg_p1, dg_p0, dg_q5, dg_q4, dg_q3, dg_q2,
      dg_q1;
} Constants;
#define CONSTANTS_AT 1024
#define K ((const Constants*)CONSTANTS_AT)
#define KV(f) wasm_v128_load32_splat(&K->f)

/* Write the constants (heap.ts calls this once, before any kernel). */
EXPORT void init_constants(void) {
  Constants* k = (Constants*)CONSTANTS_AT;
  k->exp_lo = -103.972076f;
  k->exp_lo_normal = -87.3365479f; /* ln(2^−126) rounded up: floor(x·log2e + ½) ≥ −126 */
  k->exp_hi = 88.7228394f;
  k->log2e = 1.44269504088896341f;
  k->half = 0.5f;
  k->ln2_hi = 0.693359375f;
  k->ln2_lo = -2.12194440e-4f;
  k->e0 = 1.9875691500e-4f;
  k->e1 = 1.3981999507e-3f;
  k->e2 = 8.3334519073e-3f;
  k->e3 = 4.1665795894e-2f;
  k->e4 = 1.6666665459e-1f;
  k->e5 = 5.0000001201e-1f;
  k->one = 1.0f;
  k->zero = 0.0f;
  k->bias127 = 127;
  k->magic = 12582912.0f; /* 1.5·2^23: adding it to a float integer n puts n in the low mantissa bits */
  k->magic_bits = 0x4B400000;
  k->erf_hi = 4.0f;
  k->erf_lo = -4.0f;
  k->a13 = -2.72614225801306e-10f;
  k->a11 = 2.77068142495902e-08f;
  k->a9 = -2.10102402082508e-06f;
  k->a7 = -5.69250639462346e-05f;
  k->a5 = -7.34990630326855e-04f;
  k->a3 = -2.95459980854025e-03f;
  k->a1 = -1.60960333262415e-02f;
  k->b8 = -1.45660718464996e-05f;
  k->b6 = -2.13374055278905e-04f;
  k->b4 = -1.68282697438203e-03f;
  k->b2 = -7.37332916720468e-03f;
  k->b0 = -1.42647390514189e-02f;
  k->inv_sqrt2 = 0.70710678118654752f;
  /* gelu_grad4's rational function, from gelu_grad_fit.py (least squares then Lawson's minimax reweighting). */
  k->dg_hi = 6.0f;
  k->dg_lo = -6.0f;
  k->dg_inv_hi = 1.0f / 6.0f;
  k->dg_p0 = 4.787308692932129f;
  k->dg_p1 = -8.967657089233398f;
  k->dg_p2 = 112.9852523803711f;
  k->dg_p3 = -41.47479248046875f;
  k->dg_p4 = 332.64801025390625f;
  k->dg_p5 = -36.59563446044922f;
  k->dg_p6 = 36.37422180175781f;
  k->dg_p7 = -7.220887184143066f;
  k->dg_q1 = 10.126873016357422f;
  k->dg_q2 = 47.91560745239258f;
  k->dg_q3 = 137.7423553466797f;
  k->dg_q4 = 252.29327392578125f;
  k->dg_q5 = 335.9934997558594f;
}

/* e^xc = p·2^n for a clamped xc: n = round(xc·log2 e), r = xc − n·ln 2 in two parts, p a degree-6 polynomial in r. */
static inline f4 exp_reduced(f4 xc, f4* n_out) {
  f4 n = wasm_f32x4_floor(add(mul(xc, KV(log2e)), KV(half)));
  f4 r = sub(sub(xc, mul(n, KV(ln2_hi))), mul(n, KV(ln2_lo)));
  f4 p = KV(e0);
  p = add(mul(p, r), KV(e1));
  p = add(mul(p, r), KV(e2));
  p = add(mul(p, r), KV(e3));
  p = add(mul(p, r), KV(e4));
  p = add(mul(p, r), KV(e5));
  p = add(add(mul(mul(p, r), r), r), KV(one));
  *n_out = n;
  return p;
}

/*
 * e^x per lane (Cephes expf: x = n·ln2 + r, a degree-6 polynomial in r, 2^n from the exponent bits), relative
 * error ~2 ulp; subnormal results down to −103.97 (below, 0), above 88.72 +∞, NaN stays NaN.
 */
static inline f4 exp4(f4 x) {
  /* pmin/pmax (one instruction each; NaN is restored at the end). Above 88.72 the clamp gives 2^128 = +∞. */
  const f4 lo = KV(exp_lo);
  f4 xc = wasm_f32x4_pmin(wasm_f32x4_pmax(x, lo), KV(exp_hi));
  f4 n;
  f4 p = exp_reduced(xc, &n);
  /* 2^n in two halves (each in float32's normal range for n in −150…128): the second product rounds once. */
  v128_t ni = wasm_i32x4_sub(add(n, KV(magic)), KV(magic_bits)), bias = KV(bias127);
  v128_t h1 = wasm_i32x4_shr(ni, 1), h2 = wasm_i32x4_sub(ni, h1);
  f4 s1 = wasm_i32x4_shl(wasm_i32x4_add(h1, bias), 23);
  f4 s2 = wasm_i32x4_shl(wasm_i32x4_add(h2, bias), 23);
  f4 y = mul(mul(p, s1), s2);
  y = wasm_v128_bitselect(KV(zero), y, wasm_f32x4_lt(x, lo));
  return wasm_v128_bitselect(x, y, wasm_f32x4_ne(x, x));
}

/*
 * e^x per lane for x ≤ 0 as softmax and cross-entropy give it (x − max or x − lse; a row with a NaN or +∞ never
 * comes here): exp4's reduction and polynomial with 2^n built in one step (n ≥ −126 is a normal float once x is
 * held at −87.3), no upper clamp and no NaN select; e^x below −87.3 (< 1.2e-38) is 0, −∞ included.
 */
static inline f4 exp4_nonpos(f4 x) {
  const f4 lo = KV(exp_lo_normal);
  f4 xc = wasm_f32x4_pmax(x, lo);
  f4 n;
  f4 p = exp_reduced(xc, &n);
  v128_t ni = wasm_i32x4_sub(add(n, KV(magic)), KV(magic_bits));
  f4 y = mul(p, wasm_i32x4_shl(wasm_i32x4_add(ni, KV(bias127)), 23));
  return wasm_v128_bitselect(KV(zero), y, wasm_f32x4_lt(x, lo));
}

/*
 * erf per lane: Eigen's rational approximation on [−4, 4] (±1 beyond), absolute error ~1e-7. The clamp is
 * pmin/pmax, so a NaN comes out finite: only GELU uses this, and its factor x (or exp4's NaN) carries the NaN on.
 */
static inline f4 erf4(f4 a) {
  f4 x = wasm_f32x4_pmin(wasm_f32x4_pmax(a, KV(erf_lo)), KV(erf_hi));
  f4 x2 = mul(x, x);
  f4 p = KV(a13);
  p = add(mul(x2, p), KV(a11));
  p = add(mul(x2, p), KV(a9));
  p = add(mul(x2, p), KV(a7));
  p = add(mul(x2, p), KV(a5));
  p = add(mul(x2, p), KV(a3));
  p = add(mul(x2, p), KV(a1));
  p = mul(x, p);
  f4 q = KV(b8);
  q = add(mul(x2, q), KV(b6));
  q = add(mul(x2, q), KV(b4));
  q = add(mul(x2, q), KV(b2));
  q = add(mul(x2, q), KV(b0));
  return dvd(p, q);
}

/* GELU x·Φ(x) = x/2·(1 + erf(x/√2)). */
static inline f4 gelu4(f4 x) {
  return mul(mul(KV(half), x), add(KV(one), erf4(mul(x, KV(inv_sqrt2)))));
}

/*
 * dy·gelu'(x), gelu'(x) = Φ(x) + x·φ(x) = ½ + h(x) with h odd: h(x) = s·P(s²)/Q(s²), s = x/6 (x clamped to ±6,
 * where h is ±½ within 4e-8), P of degree 7 and Q of degree 5 (fit error 3.1e-8; measured 3.1e-7 in float32
 * over [−8, 8], against 2.8e-7 for Φ and φ from erf4 and exp4, at about half the instructions). ±∞ gives NaN, as Φ(x) + x·φ(x)
 * does (∞·0).
 */
static inline f4 gelu_backward4(f4 x, f4 dy) {
  f4 s = mul(wasm_f32x4_pmin(wasm_f32x4_pmax(x, KV(dg_lo)), KV(dg_hi)), KV(dg_inv_hi));
  f4 t = mul(s, s);
  f4 p = KV(dg_p7);
  p = add(mul(p, t), KV(dg_p6));
  p = add(mul(p, t), KV(dg_p5));
  p = add(mul(p, t), KV(dg_p4));
  p = add(mul(p, t), KV(dg_p3));
  p = add(mul(p, t), KV(dg_p2));
  p = add(mul(p, t), KV(dg_p1));
  p = add(mul(p, t), KV(dg_p0));
  f4 q = KV(dg_q5);
  q = add(mul(q, t), KV(dg_q4));
  q = add(mul(q, t), KV(dg_q3));
  q = add(mul(q, t), KV(dg_q2));
  q = add(mul(q, t), KV(dg_q1));
  q = add(mul(q, t), KV(one));
  /* x − x is +0, or NaN where x is ±∞ or NaN. */
  return mul(dy, add(add(KV(half), dvd(mul(s, p), q)), sub(x, x)));
}

/* Natural log of a positive finite double (for a row's log-sum-exp): x = 2^e·m, m in [√½, √2), atanh series. */
static double log_d(double x) {
  union { double d; uint64_t u; } v = {x};
  int e = (int)((v.u >> 52) & 0x7ff) - 1023;
  v.u = (v.u & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL;
  double m = v.d;
  if (m > 1.4142135623730951) {
    m *= 0.5;
    e++;
  }
  double f = (m - 1) / (m + 1), s = f * f;
  double t = 1.0 / 19;
  t = t * s + 1.0 / 17;
  t = t * s + 1.0 / 15;
  t = t * s + 1.0 / 13;
  t = t * s + 1.0 / 11;
  t = t * s + 1.0 / 9;
  t = t * s + 1.0 / 7;
  t = t * s + 1.0 / 5;
  t = t * s + 1.0 / 3;
  t = t * s + 1.0;
  return e * 0.6931471805599453 + 2 * f * t;
}

/* float64 pairs: the low and high halves of a float32 vector, and back. */
static inline v128_t lo_d(f4 v) { return wasm_f64x2_promote_low_f32x4(v); }
static inline v128_t hi_d(f4 v) { return wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(v, v, 2, 3, 0, 1)); }
static inline f4 to_f(v128_t l, v128_t h) {
  return wasm_i32x4_shuffle(wasm_f32x4_demote_f64x2_zero(l), wasm_f32x4_demote_f64x2_zero(h), 0, 1, 4, 5);
}

/*
 * Run BODY over columns 0…n in vectors: the main loop with the lane count `k` a constant 4 (plain loads and
 * stores), then one tail with k < 4 (the partial ones) — no per-vector branch on the width.
 */
#define COLS(n, k, ...)                      \
  {                                          \
    int c = 0;                               \
    for (; c + 4 <= (n); c += 4) {           \
      const int k = 4;                       \
      __VA_ARGS__                            \
    }                                        \
    if (c < (n)) {                           \
      const int k = (n) - c;                 \
      __VA_ARGS__                            \
    }                                        \
  }

/* ---------------------------------------------------------------- element-wise: N elements lo…hi */

#define ELEMENTWISE(body)                                        \
  int i = lo;                                                     \
  for (; i + 4 <= hi; i += 4) { body(i, 4) }                      \
  if (i < hi) { body(i, hi - i) }

#define LOAD(p, i, n) ((n) == 4 ? ld((p) + (i)) : ld_part((p) + (i), (n)))
#define STORE(p, i, v, n)          \
  if ((n) == 4) st((p) + (i), (v)); \
  else st_part((p) + (i), (v), (n));

/* y = gelu(x) (fn 0) or e^x (fn 1). */
EXPORT void unary(int fn, const float* x, float* y, int lo, int hi) {
#define GELU_BODY(i, n) STORE(y, i, gelu4(LOAD(x, i, n)), n)
#define EXP_BODY(i, n) STORE(y, i, exp4(LOAD(x, i, n)), n)
  if (fn == 0) { ELEMENTWISE(GELU_BODY) }
  else { ELEMENTWISE(EXP_BODY) }
}

/* y = x·scale + bias, in float64 and rounded once (a float32 product then sum would lose the small results). */
EXPORT void affine(const float* x, float* y, int lo, int hi, double scale, double bias) {
  v128_t s = wasm_f64x2_splat(scale), b = wasm_f64x2_splat(bias);
#define AFFINE_BODY(i, n)                                                      \
  f4 xi = LOAD(x, i, n);                                                       \
  v128_t l = wasm_f64x2_add(wasm_f64x2_mul(lo_d(xi), s), b);                   \
  v128_t h = wasm_f64x2_add(wasm_f64x2_mul(hi_d(xi), s), b);                   \
  STORE(y, i, to_f(l, h), n)
  ELEMENTWISE(AFFINE_BODY)
}

/*
 * y (rows lo…hi, n) = fn(a, b), fn 0 add, 1 sub, 2 mul, 3 div, 4 GELU backward (a = x, b = dy). An operand is
 * either a whole (rows, n) block (row stride n), one row broadcast to every row (row stride 0), or one scalar
 * (row stride 0, `scalar` set). Each function and operand form has its own loop.
 */
#define BINARY_ROWS(OP)                                                                             \
  for (int r = lo; r < hi; r++) {                                                                   \
    const float* ar = a + (long)r * a_rs;                                                           \
    const float* br = b + (long)r * b_rs;                                                           \
    float* yr = y + (long)r * n;                                                                    \
    if (!a_scalar && !b_scalar) COLS(n, k, { STORE(yr, c, OP(LOAD(ar, c, k), LOAD(br, c, k)), k) }) \
    else if (!b_scalar) COLS(n, k, { STORE(yr, c, OP(as, LOAD(br, c, k)), k) })                     \
    else if (!a_scalar) COLS(n, k, { STORE(yr, c, OP(LOAD(ar, c, k), bs), k) })                     \
    else COLS(n, k, { STORE(yr, c, OP(as, bs), k) })                                                \
  }
EXPORT void binary(int fn, const float* a, const float* b, float* y, int lo, int hi, int n, int a_rs, int a_scalar,
                   int b_rs, int b_scalar) {
  f4 as = splat(a[0]), bs = splat(b[0]);
  switch (fn) {
    case 0: BINARY_ROWS(add) break;
    case 1: BINARY_ROWS(sub) break;
    case 2: BINARY_ROWS(mul) break;
    case 3: BINARY_ROWS(dvd) break;
    default: BINARY_ROWS(gelu_backward4) break;
  }
}

/* One Adam update of two elements in float64 (p, m, v updated in place). */
static inline void adam_d(v128_t* p, v128_t* m, v128_t* v, v128_t g, double beta1, double beta2, double eps,
                          double decay, double step_size) {
  v128_t b1 = wasm_f64x2_splat(beta1), b2 = wasm_f64x2_splat(beta2);
  v128_t c1 = wasm_f64x2_splat(1 - beta1), c2 = wasm_f64x2_splat(1 - beta2);
  *m = wasm_f64x2_add(wasm_f64x2_mul(b1, *m), wasm_f64x2_mul(c1, g));
  *v = wasm_f64x2_add(wasm_f64x2_mul(b2, *v), wasm_f64x2_mul(wasm_f64x2_mul(c2, g), g));
  v128_t q = wasm_f64x2_sub(*p, wasm_f64x2_mul(wasm_f64x2_splat(decay), *p));
  v128_t den = wasm_f64x2_add(wasm_f64x2_sqrt(*v), wasm_f64x2_splat(eps));
  *p = wasm_f64x2_sub(q, wasm_f64x2_div(wasm_f64x2_mul(wasm_f64x2_splat(step_size), *m), den));
}

/*
 * fairseq's Adam with decoupled weight decay on elements lo…hi, in place, computed in float64 and rounded once
 * per store as adamw in misc.ts does (float32 arithmetic drifts ~1e-6 relative over a few steps).
 */
EXPORT void adamw(float* p, float* m, float* v, const float* g, int lo, int hi, double beta1, double beta2,
                  double eps, double decay, double step_size) {
#define ADAMW_BODY(i, n)                                                                  \
  f4 gi = LOAD(g, i, n), pi = LOAD(p, i, n), mi = LOAD(m, i, n), vi = LOAD(v, i, n);     \
  v128_t pl = lo_d(pi), ph = hi_d(pi), ml = lo_d(mi), mh = hi_d(mi), vl = lo_d(vi), vh = hi_d(vi); \
  adam_d(&pl, &ml, &vl, lo_d(gi), beta1, beta2, eps, decay, step_size);                   \
  adam_d(&ph, &mh, &vh, hi_d(gi), beta1, beta2, eps, decay, step_size);                   \
  STORE(m, i, to_f(ml, mh), n) STORE(v, i, to_f(vl, vh), n) STORE(p, i, to_f(pl, ph), n)
  ELEMENTWISE(ADAMW_BODY)
}

/*
 * y (n0, n1, …, n5, contiguous) = x[offset + Σ i_d·s_d] for i0 in lo…hi: permutes, slices and expands (the caller
 * pads a lower rank with size-1 axes after axis 0), a row of the last axis at a time, as vectors when its stride
 * is 1.
 */
EXPORT void strided(const float* x, float* y, int lo, int hi, int offset, int n1, int n2, int n3, int n4, int n5,
                    int s0, int s1, int s2, int s3, int s4, int s5) {
  float* dst = y + (long)lo * n1 * n2 * n3 * n4 * n5;
  for (int i0 = lo; i0 < hi; i0++)
    for (int i1 = 0; i1 < n1; i1++)
      for (int i2 = 0; i2 < n2; i2++)
        for (int i3 = 0; i3 < n3; i3++)
          for (int i4 = 0; i4 < n4; i4++) {
            const float* src = x + offset + (long)i0 * s0 + (long)i1 * s1 + (long)i2 * s2 + (long)i3 * s3 + (long)i4 * s4;
            int c = 0;
            if (s5 == 1) {
              for (; c + 4 <= n5; c += 4) st(dst + c, ld(src + c));
              for (; c < n5; c++) dst[c] = src[c];
            } else {
              for (; c < n5; c++) dst[c] = src[(long)c * s5];
            }
            dst += n5;
          }
}

/* ---------------------------------------------------------------- sums */

/* Add a float32 vector's lanes into two float64x2 accumulators. */
#define ACC_D(lo_acc, hi_acc, v)                                       \
  lo_acc = wasm_f64x2_add(lo_acc, wasm_f64x2_promote_low_f32x4(v)); \
  hi_acc = wasm_f64x2_add(hi_acc, wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(v, v, 2, 3, 0, 1)));
#define DEMOTE(lo_acc, hi_acc) \
  wasm_i32x4_shuffle(wasm_f32x4_demote_f64x2_zero(lo_acc), wasm_f32x4_demote_f64x2_zero(hi_acc), 0, 1, 4, 5)

/*
 * y[0…16) = Σ over `size` rows (stride `inner`) of x[row][0…16): each 8 rows are summed in float32 (in row
 * order), then added to float64 accumulators — float32 only over 8 terms, a load and an add per element.
 */
static void column_sums16(const float* x, float* y, int size, int inner) {
  v128_t a0 = wasm_f64x2_splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
  int s = 0;
  for (; s + 8 <= size; s += 8) {
    const float* row = x + (long)s * inner;
    f4 v0 = ld(row), v1 = ld(row + 4), v2 = ld(row + 8), v3 = ld(row + 12);
    for (int j = 1; j < 8; j++) {
      const float* rj = row + (long)j * inner;
      v0 = add(v0, ld(rj));
      v1 = add(v1, ld(rj + 4));
      v2 = add(v2, ld(rj + 8));
      v3 = add(v3, ld(rj + 12));
    }
    ACC_D(a0, a1, v0)
    ACC_D(a2, a3, v1)
    ACC_D(a4, a5, v2)
    ACC_D(a6, a7, v3)
  }
  for (; s < size; s++) {
    const float* row = x + (long)s * inner;
    ACC_D(a0, a1, ld(row))
    ACC_D(a2, a3, ld(row + 4))
    ACC_D(a4, a5, ld(row + 8))
    ACC_D(a6, a7, ld(row + 12))
  }
  st(y, DEMOTE(a0, a1));
  st(y + 4, DEMOTE(a2, a3));
  st(y + 8, DEMOTE(a4, a5));
  st(y + 12, DEMOTE(a6, a7));
}

/* The last k < 16 columns, four at a time, the same way (a partial vector at the end). */
static void column_sums_tail(const float* x, float* y, int size, int inner, int k) {
  for (int c = 0; c < k; c += 4) {
    int w = k - c < 4 ? k - c : 4;
    v128_t lo_acc = wasm_f64x2_splat(0), hi_acc = lo_acc;
    int s = 0;
    for (; s + 8 <= size; s += 8) {
      f4 v = LOAD(x + (long)s * inner, c, w);
      for (int j = 1; j < 8; j++) v = add(v, LOAD(x + (long)(s + j) * inner, c, w));
      ACC_D(lo_acc, hi_acc, v)
    }
    for (; s < size; s++) {
      f4 v = LOAD(x + (long)s * inner, c, w);
      ACC_D(lo_acc, hi_acc, v)
    }
    STORE(y, c, DEMOTE(lo_acc, hi_acc), w)
  }
}

/*
 * y[o, c] = Σ_s x[o, s, c] for outer rows o in o0…o1 and columns c in c0…c1 of (outer, size, inner), summed in
 * float64 (a bias gradient sums thousands of rows; columns from float32 sums of 8 rows). Columns go in blocks of
 * 16 (one cache line per row).
 */
EXPORT void sum(const float* x, float* y, int o0, int o1, int size, int inner, int c0, int c1) {
  for (int o = o0; o < o1; o++) {
    const float* xo = x + (long)o * size * inner;
    float* yo = y + (long)o * inner;
    if (inner == 1) {
      v128_t acc0 = wasm_f64x2_splat(0), acc1 = wasm_f64x2_splat(0);
      int s = 0;
      for (; s < size; s += 4) {
        f4 v = LOAD(xo, s, size - s < 4 ? size - s : 4);
        acc0 = wasm_f64x2_add(acc0, wasm_f64x2_promote_low_f32x4(v));
        acc1 = wasm_f64x2_add(acc1, wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(v, v, 2, 3, 0, 1)));
      }
      yo[0] = (float)(hsum_d(acc0) + hsum_d(acc1));
      continue;
    }
    int c = c0;
    for (; c + 16 <= c1; c += 16) column_sums16(xo + c, yo + c, size, inner);
    if (c < c1) column_sums_tail(xo + c, yo + c, size, inner, c1 - c);
  }
}

/* ---------------------------------------------------------------- rows: R rows lo…hi of C columns */

/* LayerNorm over C with biased variance, one pass shifted by the row's first value; saves mean and rstd. */
EXPORT void layer_norm(const float* x, const float* g, const float* b, float* y, float* mean, float* rstd, int lo,
                       int hi, int cols, float eps) {
  for (int r = lo; r < hi; r++) {
    const float* xr = x + (long)r * cols;
    float* yr = y + (long)r * cols;
    f4 k = splat(xr[0]), s1 = splat(0), s2 = splat(0);
    COLS(cols, n, {
      f4 d = sub(LOAD(xr, c, n), k);
      if (n < 4) d = wasm_v128_bitselect(d, splat(0), wasm_i32x4_lt(wasm_i32x4_make(0, 1, 2, 3), wasm_i32x4_splat(n)));
      s1 = add(s1, d);
      s2 = add(s2, mul(d, d));
        })
    double dm = (double)hsum(s1) / cols, m = xr[0] + dm, var = (double)hsum(s2) / cols - dm * dm;
    float s = (float)(1.0 / __builtin_sqrt((var > 0 ? var : 0) + eps));
    f4 vm = splat((float)m), vs = splat(s);
    COLS(cols, n, {
      f4 v = mul(sub(LOAD(xr, c, n), vm), vs);
      STORE(yr, c, add(mul(v, LOAD(g, c, n)), LOAD(b, c, n)), n)
        })
    mean[r] = (float)m;
    rstd[r] = s;
  }
}

/*
 * LayerNorm's backward: dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ⊙x̂)) with ĝ = dy⊙g per row, and the column sums
 * Σ dy⊙x̂ (dg) and Σ dy (db) of rows lo…hi into acc: float64 [2C] (dg then db), summed from float32 partials of
 * up to 16 rows kept in acc's tail, float32 [2C]. acc is this part's own scratch; it is zeroed here.
 */
EXPORT void layer_norm_backward(const float* dy, const float* x, const float* g, const float* mean,
                                const float* rstd, float* dx, double* acc, int lo, int hi, int cols) {
  double* accg = acc;
  double* accb = acc + cols;
  float* pg = (float*)(acc + 2 * cols);
  float* pb = pg + cols;
  for (int c = 0; c < 2 * cols; c++) accg[c] = 0;
  for (int c = 0; c < 2 * cols; c++) pg[c] = 0;
  f4 inv = splat(1.0f / cols);
  for (int r = lo; r < hi; r++) {
    const float* dyr = dy + (long)r * cols;
    const float* xr = x + (long)r * cols;
    float* dxr = dx + (long)r * cols;
    f4 m = splat(mean[r]), s = splat(rstd[r]), sg = splat(0), sgx = splat(0);
    COLS(cols, n, {
      f4 xh = mul(sub(LOAD(xr, c, n), m), s), d = LOAD(dyr, c, n);
      f4 gh = mul(d, LOAD(g, c, n));
      sg = add(sg, gh);
      sgx = add(sgx, mul(gh, xh));
      STORE(pg, c, add(LOAD(pg, c, n), mul(d, xh)), n)
      STORE(pb, c, add(LOAD(pb, c, n), d), n)
        })
    f4 mg = mul(splat(hsum(sg)), inv), mgx = mul(splat(hsum(sgx)), inv);
    COLS(cols, n, {
      f4 xh = mul(sub(LOAD(xr, c, n), m), s);
      f4 gh = mul(LOAD(dyr, c, n), LOAD(g, c, n));
      STORE(dxr, c, mul(s, sub(sub(gh, mg), mul(xh, mgx))), n)
        })
    if ((r - lo) % 16 == 15 || r == hi - 1) {
      for (int c = 0; c < cols; c++) {
        accg[c] += pg[c];
        accb[c] += pb[c];
        pg[c] = 0;
        pb[c] = 0;
      }
    }
  }
}

/*
 * y = softmax of x over C. With causal_tq > 0, row r is query i = r mod causal_tq and only its first
 * i + C − causal_tq + 1 columns take part (the rest of y is 0). A row of all −∞, with a NaN, or with no column left
 * gives NaN; a +∞ entry gives NaN there and 0 elsewhere (as softmax in reduce.ts).
 */
EXPORT void softmax(const float* x, float* y, int lo, int hi, int cols, int causal_tq) {
  for (int r = lo; r < hi; r++) {
    const float* xr = x + (long)r * cols;
    float* yr = y + (long)r * cols;
    int n = causal_tq > 0 ? (r % causal_tq) + cols - causal_tq + 1 : cols;
    if (n > cols) n = cols;
    float max = n > 0 ? row_max(xr, n) : __builtin_nanf("");
    if (max != max || max == -__builtin_inff()) {
      for (int c = 0; c < cols; c++) yr[c] = __builtin_nanf("");
      continue;
    }
    if (max == __builtin_inff()) {
      for (int c = 0; c < n; c++) yr[c] = xr[c] == __builtin_inff() ? __builtin_nanf("") : 0;
    } else {
      f4 vmax = splat(max), acc = splat(0);
      COLS(n, k, {
        f4 e = exp4_nonpos(sub(LOAD(xr, c, k), vmax));
        if (k < 4) e = wasm_v128_bitselect(e, splat(0), wasm_i32x4_lt(wasm_i32x4_make(0, 1, 2, 3), wasm_i32x4_splat(k)));
        STORE(yr, c, e, k)
        acc = add(acc, e);
            })
      f4 inv = splat((float)(1.0 / (double)hsum(acc)));
      COLS(n, k, {
        STORE(yr, c, mul(LOAD(yr, c, k), inv), k)
            })
    }
    for (int c = n; c < cols; c++) yr[c] = 0;
  }
}

/* dx = y ⊙ (dy − Σ dy⊙y) per row. */
EXPORT void softmax_backward(const float* y, const float* dy, float* dx, int lo, int hi, int cols) {
  for (int r = lo; r < hi; r++) {
    const float* yr = y + (long)r * cols;
    const float* dyr = dy + (long)r * cols;
    float* dxr = dx + (long)r * cols;
    f4 acc = splat(0);
    COLS(cols, k, {
      acc = add(acc, mul(LOAD(dyr, c, k), LOAD(yr, c, k)));
        })
    f4 dot = splat(hsum(acc));
    COLS(cols, k, {
      STORE(dxr, c, mul(LOAD(yr, c, k), sub(LOAD(dyr, c, k), dot)), k)
        })
  }
}

/* A row's log-sum-exp: NaN with a NaN, −∞ when all are −∞, +∞ with a +∞. */
static float row_lse(const float* xr, int cols) {
  float max = row_max(xr, cols);
  if (max != max || max == -__builtin_inff() || max == __builtin_inff()) return max;
  f4 vmax = splat(max), acc = splat(0);
  COLS(cols, k, {
    f4 e = exp4_nonpos(sub(LOAD(xr, c, k), vmax));
    if (k < 4) e = wasm_v128_bitselect(e, splat(0), wasm_i32x4_lt(wasm_i32x4_make(0, 1, 2, 3), wasm_i32x4_splat(k)));
    acc = add(acc, e);
    })
  return (float)(max + log_d((double)hsum(acc)));
}

/* loss[r] = lse[r] − x[r, t[r]]; a target outside [0, C) gives NaN. */
EXPORT void cross_entropy(const float* x, const int32_t* t, float* loss, float* lse, int lo, int hi, int cols) {
  for (int r = lo; r < hi; r++) {
    const float* xr = x + (long)r * cols;
    float l = row_lse(xr, cols);
    int target = t[r];
    lse[r] = l;
    loss[r] = target >= 0 && target < cols ? l - xr[target] : __builtin_nanf("");
  }
}

/* dx[r, c] = (softmax[r, c] − [c = t[r]])·dl[r] from the saved log-sum-exp. */
EXPORT void cross_entropy_backward(const float* x, const int32_t* t, const float* lse, const float* dl, float* dx,
                                   int lo, int hi, int cols) {
  for (int r = lo; r < hi; r++) {
    const float* xr = x + (long)r * cols;
    float* dxr = dx + (long)r * cols;
    int target = t[r];
    if (!(target >= 0 && target < cols)) {
      for (int c = 0; c < cols; c++) dxr[c] = __builtin_nanf("");
      continue;
    }
    f4 l = splat(lse[r]), d = splat(dl[r]);
    COLS(cols, k, {
      STORE(dxr, c, mul(exp4_nonpos(sub(LOAD(xr, c, k), l)), d), k)
        })
    f4 e = exp4(splat(xr[target] - lse[r]));
    dxr[target] = (wasm_f32x4_extract_lane(e, 0) - 1) * dl[r];
  }
}
