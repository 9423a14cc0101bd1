/**
 * Where a CPU training step's time goes, op by op: wraps the CPU backend's `dispatch` (synchronous, so a
 * wall-clock interval around each call is that kernel's cost), runs warm-up then measured steps of a preset and
 * arch (forward + backward + AdamW, as bench/step.ts), and prints the ops by total time with calls and µs per
 * call, split into forward / backward / optimizer, plus what is left outside the kernels (autograd bookkeeping,
 * allocation, JavaScript glue). Measured in the benchmark environment (see bench_env.ts).
 *
 *     deno run -A bench/profile_step.ts --preset=small --arch=normformer [--steps=5] [--warmup=2] [--top=25]
 *                                       [--threads=2] [--keep-env] [--json=out.json] [--<config key>=<value> …]
 *
 * The CPU backend takes its threads from NK_CPU_THREADS (default the cores, at most 4): `NK_CPU_THREADS=1` profiles
 * the one-thread kernels.
 * Ops are keyed by name plus what changes their cost: the function of unary/binary/reduce ("binary:add"),
 * "bcast" when a binary operand broadcasts, "batched" for batched matrix products.
 * @module
 */
import type { Backend, OpAttrs, OpName } from "../lib/backend/backend.ts";
import { createCpuBackend } from "../lib/backend/cpu/mod.ts";
import { resolveConfig } from "../lib/train/config.ts";
import { benchEnvInfo, enterBenchEnv } from "./bench_env.ts";
import { makeTrainStep, type Phase } from "./step.ts";
import { splitArgs } from "./split_args.ts";

const OWN = ["steps", "warmup", "top", "threads", "keep-env", "json"];

/** Totals of one op key: milliseconds per phase and calls. */
interface OpStat {
  ms: Record<Phase, number>;
  calls: number;
}

const PHASES: Phase[] = ["forward", "backward", "optimizer", "read"];
const zero = (): Record<Phase, number> => ({ forward: 0, backward: 0, optimizer: 0, read: 0 });

/** A key that separates ops whose costs differ (see the module doc). */
export function opKey(op: OpName, attrs: unknown): string {
  if (op === "unary" || op === "reduce") return `${op}:${(attrs as { fn: string }).fn}`;
  if (op === "binary") {
    const a = attrs as OpAttrs["binary"];
    return `binary:${a.fn}${[...a.aStrides, ...a.bStrides].includes(0) ? " bcast" : ""}`;
  }
  if (op === "matmul") return (attrs as OpAttrs["matmul"]).batch > 1 ? "matmul batched" : "matmul";
  return op;
}

/** Wraps `be` so every dispatch (and alloc/free) adds its time to `stats` under the current phase. */
function profiled(be: Backend, stats: Map<string, OpStat>, phase: () => Phase): Backend {
  const add = (key: string, ms: number) => {
    const s = stats.get(key) ?? stats.set(key, { ms: zero(), calls: 0 }).get(key)!;
    s.ms[phase()] += ms;
    s.calls++;
  };
  const timed = <F extends (...a: any[]) => any>(key: (...a: Parameters<F>) => string, fn: F) =>
    ((...a: Parameters<F>): ReturnType<F> => {
      const t = performance.now();
      const r = fn(...a);
      add(key(...a), performance.now() - t);
      return r;
    }) as F;
  return {
    ...be,
    alloc: timed(() => "(alloc)", be.alloc),
    free: timed(() => "(free)", be.free),
    dispatch: timed((op, _o, _i, attrs) => opKey(op, attrs), be.dispatch),
  };
}

const fmt = (ms: number) => ms.toFixed(ms >= 10 ? 1 : 2).padStart(8);

async function main(): Promise<void> {
  const { flags, config } = splitArgs(OWN);
  const threads = Number(flags.threads ?? 2);
  await enterBenchEnv(import.meta.filename!, threads, flags["keep-env"] === "true");
  const cfg = resolveConfig([{ preset: "small", ...config }]);
  const steps = Number(flags.steps ?? 5), warmup = Number(flags.warmup ?? 2), top = Number(flags.top ?? 25);
  const stats = new Map<string, OpStat>();
  let phase: Phase = "forward";
  const marks: [Phase, number][] = []; // phase starts within the current step
  const cpu = createCpuBackend();
  const step = makeTrainStep(profiled(cpu, stats, () => phase), cfg, (p) => {
    phase = p;
    marks.push([p, performance.now()]);
  });
  const phaseMs = zero();
  let totalMs = 0;
  for (let i = 0; i < warmup + steps; i++) {
    if (i === warmup) stats.clear();
    marks.length = 0;
    const t0 = performance.now();
    await step.run();
    const t1 = performance.now();
    if (i < warmup) continue;
    totalMs += t1 - t0;
    marks.push(["read", t1]);
    for (let k = 0; k + 1 < marks.length; k++) phaseMs[marks[k][0]] += marks[k + 1][1] - marks[k][1];
  }
  step.dispose();
  const per = (ms: number) => ms / steps;
  const rows = [...stats].map(([key, s]) => ({ key, ...s, total: PHASES.reduce((a, p) => a + s.ms[p], 0) }))
    .sort((a, b) => b.total - a.total);
  const kernelMs = rows.reduce((a, r) => a + r.total, 0);
  const tokens = cfg.batchSize * cfg.contextLength * (cfg.updateFreq ?? 1); // per update
  const load = (await Deno.readTextFile("/proc/loadavg").catch(() => "?")).split(" ")[0];
  console.log(
    `profile: preset ${cfg.preset}, arch ${cfg.arch} (L=${cfg.layers} C=${cfg.dModel} H=${cfg.heads} F=${cfg.dFF} ` +
      `T=${cfg.contextLength} B=${cfg.batchSize} V=${cfg.vocabSize}); cpu ${cpu.matmulKernel}; ` +
      `${steps} steps after ${warmup} warm-up; load ${load}; env ${JSON.stringify(benchEnvInfo())}`,
  );
  console.log(
    `step ${fmt(per(totalMs)).trim()} ms (${(tokens / per(totalMs) * 1e3).toFixed(0)} tokens/s): ` +
      PHASES.map((p) => `${p} ${fmt(per(phaseMs[p])).trim()}`).join(", ") +
      ` ms; in kernels ${(kernelMs / totalMs * 100).toFixed(1)}%`,
  );
  console.log(
    `${"op".padEnd(22)}${"calls".padStart(7)}${"ms/step".padStart(9)}${"%".padStart(7)}` +
      `${"µs/call".padStart(9)}${"fwd".padStart(8)}${"bwd".padStart(8)}${"opt".padStart(8)}`,
  );
  for (const r of rows.slice(0, top)) {
    console.log(
      r.key.padEnd(22) + String(Math.round(r.calls / steps * 10) / 10).padStart(7) + fmt(per(r.total)).padStart(9) +
        (r.total / totalMs * 100).toFixed(1).padStart(7) + (r.total / r.calls * 1e3).toFixed(1).padStart(9) +
        fmt(per(r.ms.forward)) + fmt(per(r.ms.backward)) + fmt(per(r.ms.optimizer)),
    );
  }
  console.log(
    `${"(outside kernels)".padEnd(22)}${"".padStart(7)}${fmt(per(totalMs - kernelMs)).padStart(9)}` +
      `${((totalMs - kernelMs) / totalMs * 100).toFixed(1).padStart(7)}`,
  );
  if (flags.json) {
    const out = { cfg, steps, warmup, load, stepMs: per(totalMs), phaseMs, ops: rows };
    await Deno.writeTextFile(flags.json, JSON.stringify(out, null, 2) + "\n");
  }
}

if (import.meta.main) await main();
