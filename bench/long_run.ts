/**
 * Long-run memory check (not part of `deno task bench`, which compares speed with a peer): trains the `tiny`
 * preset on the fixture corpus with its evaluations and periodic checkpoints, samples the backend's memory
 * (live buffers and bytes, pooled bytes) and the process's RSS every N steps, prints a table and a verdict —
 * FLAT after warm-up, SETTLED (grew in steps, then stopped), or GROWING (still growing in the last half of the run:
 * a leak) — and exits 1 when growing.
 *
 *   deno run -A --v8-flags=--expose-gc bench/long_run.ts [--steps 2000] [--backend cpu|webgpu] [--every 100]
 *       [--checkpointEvery 500] [--warmup n]
 *
 * Flat means: after the warm-up (the first `--warmup` steps, default max(every, steps/10)) live buffers and live
 * bytes never change, pooled bytes never grow, and RSS grows by less than max(32 MiB, 10%) — the allocator's
 * arenas move a little even when nothing leaks (in the last half: max(8 MiB, 3%)). With `--expose-gc` each
 * sample first collects garbage, so the heap column is what is retained, and it must grow by less than
 * max(4 MiB, 25%) (last half: max(1 MiB, 10%)); without it the heap column includes garbage awaiting collection
 * and is not judged.
 * @module
 */
import { formatHelp, parseFlags } from "../lib/cli/args.ts";
import { describeBackend, runMain, startBackend } from "../lib/cli/common.ts";
import { resolveConfig } from "../lib/train/config.ts";
import { train } from "../lib/train/loop.ts";

const SPEC = {
  help: { type: "boolean", short: "h", description: "Show this help." },
  steps: { type: "string", description: "Training steps (default 2000).", valueName: "n" },
  backend: { type: "string", description: "cpu | webgpu (default cpu).", valueName: "name" },
  every: { type: "string", description: "Sample memory every n steps (default 100).", valueName: "n" },
  warmup: {
    type: "string",
    description: "Steps before memory must be flat (default max(every, steps/10)).",
    valueName: "n",
  },
  checkpointEvery: { type: "string", description: "Checkpoint every n steps (default 500).", valueName: "n" },
} as const;

/** One memory sample. */
interface Sample {
  step: number;
  seconds: number;
  loss: number;
  liveBuffers: number;
  liveBytes: number;
  pooledBytes: number;
  rss: number;
  heapUsed: number;
}

const MiB = 1024 * 1024;

function intFlag(name: string, v: string | undefined, def: number, min: number): number {
  if (v === undefined) return def;
  const x = Number(v);
  if (!Number.isInteger(x) || x < min) throw new Error(`Invalid --${name} "${v}": expected an integer ≥ ${min}`);
  return x;
}

/** How much growth a window of samples may show. */
interface Tolerance {
  /** RSS: max(bytes, fraction of the first sample). */
  rss: [number, number];
  /** JS heap after GC: max(bytes, fraction); null when the heap is not judged (no --expose-gc). */
  heap: [number, number] | null;
}

/** What grew over `window` (live memory must not change, the pool must not grow): null when nothing did. */
function growth(window: readonly Sample[], tol: Tolerance, where: string): string | null {
  if (window.length < 2) return `too few samples ${where} to judge`;
  const first = window[0], last = window[window.length - 1];
  const problems: string[] = [];
  for (const key of ["liveBuffers", "liveBytes"] as const) {
    const values = new Set(window.map((s) => s[key]));
    if (values.size > 1) problems.push(`${key} changed ${where} (${[...values].join(" → ")})`);
  }
  const pooledMax = Math.max(...window.map((s) => s.pooledBytes));
  if (pooledMax > first.pooledBytes) {
    problems.push(`pooledBytes grew ${((pooledMax - first.pooledBytes) / MiB).toFixed(2)} MiB ${where}`);
  }
  const over = (grew: number, base: number, [bytes, fraction]: [number, number]) =>
    grew > Math.max(bytes, fraction * base);
  if (over(last.rss - first.rss, first.rss, tol.rss)) {
    problems.push(`RSS grew ${((last.rss - first.rss) / MiB).toFixed(1)} MiB ${where}`);
  }
  if (tol.heap && over(last.heapUsed - first.heapUsed, first.heapUsed, tol.heap)) {
    problems.push(`the JS heap (after GC) grew ${((last.heapUsed - first.heapUsed) / MiB).toFixed(1)} MiB ${where}`);
  }
  return problems.length ? problems.join("; ") : null;
}

/**
 * FLAT: nothing grew after the warm-up. SETTLED: something grew in steps after the warm-up but not in the last
 * half of the run (one-time allocations, e.g. a driver's at the first checkpoints). GROWING: it still grew in the
 * last half — a leak; the script then exits 1.
 */
function verdict(samples: readonly Sample[], warmup: number, steps: number, heapJudged: boolean) {
  const after = samples.filter((s) => s.step >= warmup);
  const half = warmup + (steps - warmup) / 2;
  const lastHalf = samples.filter((s) => s.step >= half);
  const whole = growth(after, { rss: [32 * MiB, 0.1], heap: heapJudged ? [4 * MiB, 0.25] : null }, "after warm-up");
  const late = growth(lastHalf, { rss: [8 * MiB, 0.03], heap: heapJudged ? [1 * MiB, 0.1] : null }, "in the last half");
  if (late) return { word: "GROWING", detail: late, fail: true };
  if (whole) {
    return { word: "SETTLED", detail: `${whole}, then nothing in the last half (from step ${half})`, fail: false };
  }
  return {
    word: "FLAT",
    detail: "live buffers and bytes constant, pool not growing, RSS within tolerance",
    fail: false,
  };
}

await runMain(async () => {
  const { flags } = parseFlags(Deno.args, SPEC);
  if (flags.help) {
    const usage = "deno run -A --v8-flags=--expose-gc bench/long_run.ts [--steps 2000] [--backend cpu|webgpu]";
    return console.log(formatHelp(SPEC, { usage }));
  }
  const steps = intFlag("steps", flags.steps, 2000, 1);
  const every = intFlag("every", flags.every, 100, 1);
  const warmup = intFlag("warmup", flags.warmup, Math.max(every, Math.floor(steps / 10)), 0);
  const checkpointEvery = intFlag("checkpointEvery", flags.checkpointEvery, 500, 0);
  const config = resolveConfig([{
    preset: "tiny",
    corpus: "fixture",
    steps,
    checkpointEvery,
    backend: flags.backend ?? "cpu",
  }]);
  const backend = await startBackend(config);
  const dir = await Deno.makeTempDir({ prefix: "nk-long-run-" });
  console.error(
    `long run: tiny preset (L=${config.layers} d=${config.dModel} T=${config.contextLength} B=${config.batchSize}), ` +
      `${steps} steps, eval every ${config.evalEvery}, checkpoint every ${checkpointEvery}, on ${
        describeBackend(backend)
      }; run folder ${dir}`,
  );
  const samples: Sample[] = [];
  const t0 = performance.now();
  // With --v8-flags=--expose-gc, collect first, so the heap column shows what is retained, not what awaits GC.
  const gc = (globalThis as { gc?: () => void }).gc;
  const sample = (step: number, loss: number) => {
    gc?.();
    const m = backend.memory(), u = Deno.memoryUsage();
    samples.push({ step, seconds: (performance.now() - t0) / 1000, loss, ...m, rss: u.rss, heapUsed: u.heapUsed });
    console.error(`step ${step}: ${m.liveBuffers} live buffers, RSS ${(u.rss / MiB).toFixed(1)} MiB`);
  };
  try {
    const run = await train({
      config,
      runDir: dir,
      onProgress: (p) => {
        if (p.step % every === 0 || p.step === steps) sample(p.step, p.loss);
      },
    });
    run.model.dispose();
    run.optimizer.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const header = ["step", "time s", "loss", "liveBuffers", "liveBytes", "pooled MiB", "RSS MiB", "heap MiB"];
  const rows = samples.map((s) => [
    String(s.step),
    s.seconds.toFixed(1),
    s.loss.toFixed(3),
    String(s.liveBuffers),
    String(s.liveBytes),
    (s.pooledBytes / MiB).toFixed(2),
    (s.rss / MiB).toFixed(1),
    (s.heapUsed / MiB).toFixed(1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => "| " + cells.map((c, i) => c.padStart(widths[i])).join(" | ") + " |";
  console.log(line(header));
  console.log("|" + widths.map((w) => "-".repeat(w + 1) + ":").join("|") + "|");
  for (const r of rows) console.log(line(r));
  const v = verdict(samples, warmup, steps, gc !== undefined);
  console.log(`verdict: ${v.word} on ${backend.name} after a warm-up of ${warmup} steps: ${v.detail}`);
  if (v.fail) Deno.exit(1);
});
