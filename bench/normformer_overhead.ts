/**
 * NormFormer's step time over Pre-LN's on the CPU backend, measured in one process: both models of a preset on one
 * backend, their steps alternating (so drifts of a shared machine hit both alike), medians and fastest steps.
 *
 *     deno run -A bench/normformer_overhead.ts --preset=small [--layers=12] [--steps=20]
 *
 * Threads come from NK_CPU_THREADS (default the cores, at most 4). Run with OPENBLAS_THREAD_TIMEOUT=4 as the tasks do.
 * @module
 */
import { parseArgs } from "node:util";
import { createCpuBackend } from "../lib/backend/cpu/mod.ts";
import { resolveConfig } from "../lib/train/config.ts";
import { makeTrainStep } from "./step.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: { preset: { type: "string", default: "small" }, layers: { type: "string" }, steps: { type: "string" } },
});
const steps = Number(flags.steps ?? 20);
if (!Number.isInteger(steps) || steps < 1) throw new Error(`Invalid --steps "${flags.steps}": use a whole number ≥ 1`);
const layers = flags.layers === undefined ? {} : { layers: Number(flags.layers) };
const be = createCpuBackend();
const [preln, normformer] = (["preln", "normformer"] as const).map((arch) =>
  makeTrainStep(be, resolveConfig([{ preset: flags.preset, arch, ...layers }]))
);
for (const s of [preln, normformer]) for (let i = 0; i < 3; i++) await s.run();
const ms: [number[], number[]] = [[], []];
for (let i = 0; i < steps; i++) {
  for (const [k, s] of [preln, normformer].entries()) {
    const t = performance.now();
    await s.run();
    ms[k].push(performance.now() - t);
  }
}
const median = (a: number[]) => a.slice().sort((x, y) => x - y)[a.length >> 1];
const pct = (a: number, b: number) => `${((b / a - 1) * 100).toFixed(1)}%`;
const [p, f] = ms.map(median), [pMin, fMin] = ms.map((a) => Math.min(...a));
console.log(
  `${preln.cfg.preset} L=${preln.cfg.layers}, ${be.threads} threads, ${steps} alternating steps each: Pre-LN ` +
    `${p.toFixed(1)} ms, NormFormer ${f.toFixed(1)} ms (${pct(p, f)}); fastest ${pMin.toFixed(1)} vs ` +
    `${fMin.toFixed(1)} ms (${pct(pMin, fMin)})`,
);
preln.dispose();
normformer.dispose();
Deno.exit(0);
