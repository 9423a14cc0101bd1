/**
 * What every benchmark group shares: the group interface that `main.ts` registers, a timing loop (warm-up,
 * calibrated inner iterations, median of reps; `torch_peer.py` mirrors it), the Python peer runner, and the
 * table printer. Metrics are higher-is-better rates (GFLOP/s, tokens/s); a ratio is ours / peer.
 * @module
 */

/** Settings every group receives from `main.ts`. */
export interface BenchContext {
  /** Fewer reps and shorter calibration, for a smoke run. */
  quick: boolean;
  /** Run every size on slow backends too (the emulated WebGPU adapter). */
  full: boolean;
  /** BLAS and PyTorch threads, the same on both sides. */
  threads: number;
  /** Progress lines (stderr, so stdout stays the table). */
  log(line: string): void;
}

/** One row: a case label and each column's rate, or null where the column was skipped. */
export interface Row {
  label: string;
  values: Record<string, number | null>;
  /** Raw timings and anything else worth keeping in results.json. */
  detail?: Record<string, unknown>;
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
}

/** A benchmark group, registered in `main.ts`. */
export interface BenchGroup {
  name: string;
  run(ctx: BenchContext): Promise<GroupResult>;
}

/** A timing: median milliseconds per iteration over `reps` reps of `iters` iterations each. */
export interface Timing {
  medianMs: number;
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
 * Times `run(iters)`, which must do `iters` iterations and finish all their work (a device read included).
 * One untimed call warms up; iters doubles until a rep lasts ≥ targetMs; then the median of 7 reps (3 when quick
 * or when one iteration takes over a second). `torch_peer.py` uses the same policy.
 */
export async function measure(run: (iters: number) => unknown, ctx: BenchContext): Promise<Timing> {
  const targetMs = ctx.quick ? 20 : 100;
  await run(1);
  let iters = 1, ms = 0;
  for (;; iters *= 2) {
    const t = performance.now();
    await run(iters);
    ms = performance.now() - t;
    if (ms >= targetMs) break;
  }
  const reps = ctx.quick || ms / iters > 1000 ? 3 : 7;
  const samplesMs: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t = performance.now();
    await run(iters);
    samplesMs.push((performance.now() - t) / iters);
  }
  return { medianMs: median(samplesMs), reps, iters, samplesMs };
}

/** The Python that runs the PyTorch peer: the system one, where Debian's python3-torch lives. */
export const PYTHON = "/usr/bin/python3";

let torchProbe: Promise<string> | undefined;

/** "" when `import torch` works in PYTHON, else the reason it does not. */
export function torchSkipReason(): Promise<string> {
  return torchProbe ??= (async () => {
    try {
      const out = await new Deno.Command(PYTHON, { args: ["-c", "import torch"], stdout: "null", stderr: "piped" })
        .output();
      if (out.success) return "";
      const lines = new TextDecoder().decode(out.stderr).trim().split("\n");
      return `"${PYTHON} -c 'import torch'" failed: ${lines[lines.length - 1]}`;
    } catch (e) {
      return `cannot run "${PYTHON}": ${e instanceof Error ? e.message : String(e)}`;
    }
  })();
}

/** Runs `bench/torch_peer.py <args>` and parses the JSON it prints; `{ skip }` says why there is no peer. */
export async function runTorchPeer(args: string[]): Promise<{ data: any } | { skip: string }> {
  const skip = await torchSkipReason();
  if (skip) return { skip };
  const script = new URL("./torch_peer.py", import.meta.url).pathname;
  const out = await new Deno.Command(PYTHON, { args: [script, ...args], stdout: "piped", stderr: "piped" }).output();
  const stderr = new TextDecoder().decode(out.stderr).trim();
  if (!out.success) return { skip: `torch_peer.py ${args[0]} exited with ${out.code}: ${stderr.slice(-500)}` };
  return { data: JSON.parse(new TextDecoder().decode(out.stdout)) };
}

/** Formats a group as an aligned text table: rate, and (ratio to the peer) beside each non-peer column. */
export function formatTable(g: GroupResult): string {
  const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
  const head = ["case", ...g.columns.map((c) => (c === g.peer ? `${c} (peer)` : c))];
  const body = g.rows.map((r) => [
    r.label,
    ...g.columns.map((c) => {
      const v = r.values[c], p = g.peer === null ? null : r.values[g.peer];
      if (v === null || v === undefined) return "—";
      return c === g.peer || !p ? fmt(v) : `${fmt(v)} (${(v / p).toFixed(v / p >= 0.1 ? 2 : 3)}×)`;
    }),
  ]);
  const widths = head.map((_, i) => Math.max(...[head, ...body].map((row) => row[i].length)));
  const line = (row: string[]) => row.map((s, i) => (i === 0 ? s.padEnd(widths[i]) : s.padStart(widths[i]))).join("  ");
  const ratio = g.peer ? `, (×) = ours / ${g.peer}` : ", no peer";
  return [`${g.name} (${g.unit}${ratio})`, line(head), ...body.map(line), ...g.notes.map((n) => `  · ${n}`)].join("\n");
}
