/**
 * What every benchmark group shares: the group interface that `main.ts` registers, the timing loop, and the
 * table printer. Metrics are higher-is-better rates (GFLOP/s, tokens/s) unless the unit says otherwise (memory);
 * a ratio is ours / peer.
 *
 * Timing: each runner (ours, or the PyTorch peer timing itself in its own process) is warmed up once and its
 * inner iterations doubled until a rep lasts ≥ 100 ms; then reps of all runners of a case are interleaved
 * (peer, ours, peer, ours, …) and each reports its median. Interleaving matters on a shared machine: load that
 * comes and goes then skews every column alike instead of whichever happened to run at the time.
 * @module
 */
import type { TorchPeer } from "./peer.ts";
import type { TfjsColumn, TfjsPeer } from "./tfjs_peer.ts";

/** Settings every group receives from `main.ts`. */
export interface BenchContext {
  /** Fewer reps and shorter calibration, for a smoke run. */
  quick: boolean;
  /** Run every size on slow backends too (the emulated WebGPU adapter). */
  full: boolean;
  /** BLAS and PyTorch threads, the same on both sides. */
  threads: number;
  /** Interleaved reps per runner instead of the default 7 (3 when quick), for steadier medians on a busy machine. */
  reps?: number;
  /** Progress lines (stderr, so stdout stays the table). */
  log(line: string): void;
  /** The PyTorch peer, started on first use and shared by all groups; a string is why there is none. */
  peer(): Promise<TorchPeer | string>;
  /** A TensorFlow.js backend, started on first use and shared; a string is why there is none. */
  tfjs(column: TfjsColumn): Promise<TfjsPeer | string>;
}

/** Something to time: `run(iters)` does `iters` iterations, finishes all their work, and returns elapsed ms. */
export interface Runner {
  name: string;
  run(iters: number): Promise<number>;
}

/** A runner timed here: `fn(iters)` must finish its work (a device read included) before it resolves. */
export function localRunner(name: string, fn: (iters: number) => unknown): Runner {
  return {
    name,
    run: async (iters) => {
      const t = performance.now();
      await fn(iters);
      return performance.now() - t;
    },
  };
}

/** One row: a case label and each column's rate, or null where the column was skipped. */
export interface Row {
  label: string;
  values: Record<string, number | null>;
  /** Raw timings and anything else worth keeping in results.json. */
  detail?: Record<string, unknown>;
  /** Each column's rate from its fastest rep (see `GroupResult.best`). */
  best?: Record<string, number | null>;
}

/** What a group returns: printed as a table and stored in results.json. */
export interface GroupResult {
  name: string;
  /** e.g. "GFLOP/s". */
  unit: string;
  /** Column names; `peer` is one of them (or null when the peer was skipped). */
  columns: string[];
  peer: string | null;
  rows: Row[];
  /** Skip reasons, thread counts, library names: printed under the table. */
  notes: string[];
  /**
   * Columns printed without a ratio to the peer, e.g. the two PyTorch models whose better value per row is the
   * peer column.
   */
  plain?: string[];
  /** Extra ratio columns [numerator, denominator], e.g. ["webgpu", "tfjs-webgpu"]: printed as "a/b". */
  compare?: [string, string][];
  /**
   * Columns whose fastest-rep ratio to the peer is printed as well ("cpu best"): on a loaded machine a
   * multi-threaded peer's reps scatter far more than ours, and the fastest rep is its uncontended speed.
   */
  best?: string[];
}

/** A benchmark group, registered in `main.ts`. */
export interface BenchGroup {
  name: string;
  run(ctx: BenchContext): Promise<GroupResult>;
}

/** A timing: median milliseconds per iteration over `reps` reps of `iters` iterations each. */
export interface Timing {
  medianMs: number;
  /** The fastest rep's ms per iteration. */
  minMs: number;
  reps: number;
  iters: number;
  samplesMs: number[];
}

/** Median of a non-empty list. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b), h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

/**
 * Times every runner (see the module doc): one warm-up call, iters doubled until a rep lasts ≥ 100 ms (20 when
 * quick; skipped when the warm-up took over a second), then 7 interleaved reps (3 when quick or when one
 * iteration takes over a second; `ctx.reps` overrides both). Median ms/iteration.
 */
export async function measure(runners: Runner[], ctx: BenchContext): Promise<Map<string, Timing>> {
  const targetMs = ctx.quick ? 20 : 100;
  const plan = [];
  for (const r of runners) {
    let iters = 1, ms = await r.run(1);
    // A warm-up over a second is its own calibration: one iteration per rep (saves a slow run per runner).
    for (; ms < 1000; iters *= 2) {
      ms = await r.run(iters);
      if (ms >= targetMs) break;
    }
    const reps = ctx.reps ?? (ctx.quick || ms / iters > 1000 ? 3 : 7);
    plan.push({ r, iters, reps, samplesMs: [] as number[] });
  }
  for (let rep = 0; plan.some((p) => rep < p.reps); rep++) {
    for (const p of plan) if (rep < p.reps) p.samplesMs.push((await p.r.run(p.iters)) / p.iters);
  }
  return new Map(
    plan.map((
      p,
    ) => [p.r.name, {
      medianMs: median(p.samplesMs),
      minMs: Math.min(...p.samplesMs),
      reps: p.reps,
      iters: p.iters,
      samplesMs: p.samplesMs,
    }]),
  );
}

/**
 * Formats a group as an aligned text table: rate (median rep), (ratio to the peer) beside each non-peer column,
 * then the `compare` ratios and the fastest-rep ratios to the peer of the `best` columns.
 */
export function formatTable(g: GroupResult): string {
  const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
  const times = (r: number) => `${r.toFixed(r >= 0.1 ? 2 : 3)}×`;
  const compare = g.compare ?? [], best = g.peer ? g.best ?? [] : [];
  const head = [
    "case",
    ...g.columns.map((c) => (c === g.peer ? `${c} (peer)` : c)),
    ...compare.map(([a, b]) => `${a}/${b}`),
    ...best.map((c) => `${c} best`),
  ];
  const body = g.rows.map((r) => [
    r.label,
    ...g.columns.map((c) => {
      const v = r.values[c], p = g.peer === null ? null : r.values[g.peer];
      if (v === null || v === undefined) return "—";
      return c === g.peer || !p || g.plain?.includes(c) ? fmt(v) : `${fmt(v)} (${times(v / p)})`;
    }),
    ...compare.map(([a, b]) => {
      const va = r.values[a], vb = r.values[b];
      return va && vb ? times(va / vb) : "—";
    }),
    ...best.map((c) => {
      const v = r.best?.[c], p = r.best?.[g.peer!];
      return v && p ? times(v / p) : "—";
    }),
  ]);
  const widths = head.map((_, i) => Math.max(...[head, ...body].map((row) => row[i].length)));
  const line = (row: string[]) => row.map((s, i) => (i === 0 ? s.padEnd(widths[i]) : s.padStart(widths[i]))).join("  ");
  const ratio = g.peer ? `, (×) = ours / ${g.peer}` : ", no peer";
  return [`${g.name} (${g.unit}${ratio})`, line(head), ...body.map(line), ...g.notes.map((n) => `  · ${n}`)].join("\n");
}
