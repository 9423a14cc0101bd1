/**
 * Peak memory of training, ours against PyTorch: each case runs `STEPS` updates with gradient accumulation
 * (`updateFreq` 2: two forward + backward passes of `batchSize` sequences per update, as lib/train/loop.ts) in a
 * fresh child process per model, so no peak is another's, and reports the process's peak RSS (VmHWM from
 * /proc/self/status). Ours is `deno run` of this file on the CPU backend (bench/step.ts); PyTorch is
 * bench/torch_peer.py `--peak-memory` with the same model, batch, dropout and AdamW, both styles of the
 * train_step group (torch-fairseq, torch-nanogpt; `torch` is the one with the lower peak). Children inherit the
 * benchmark environment (OPENBLAS_NUM_THREADS and the rest, see bench_env.ts); PyTorch gets `--threads`.
 *
 * Cases, NormFormer, half each preset's batch with updateFreq 2 (the preset's sequences per update):
 * `small` (B 8, T 128), `t1` (B 16, T 256), and with --full `paper125m` (B 1 × updateFreq 2 of T 2048 instead of
 * the run's 256 sequences: accumulating more passes adds no memory; ~15 GiB and minutes per process, so it is
 * skipped when the estimate does not fit the memory available).
 *
 * Rows per case: peak RSS; base RSS (runtime and tensor library loaded, no model yet); bytes per parameter
 * (peak − base) / P; bytes per token (peak − base − 16 P) / (B·T), what one pass keeps per token beyond the
 * weights, gradients and AdamW's two moments (4 floats per parameter). The `estimate` column is
 * lib/train/memory.ts's, the figure `deno task train` prints (its base is the runtime allowance).
 *
 *     deno task bench --only=peak_memory [--full]
 *     deno run -A bench/peak_memory.ts --case='{"preset":"t1","batchSize":16,"updateFreq":2}' [--steps=2]
 *         one case of ours in this process (the environment as it is), printing one JSON line
 * Legend: B batch, T time, P parameters.
 * @module
 */
import { parseArgs } from "node:util";
import { paramCount } from "../lib/model/sizing.ts";
import { resolveConfig, type TrainConfig } from "../lib/train/config.ts";
import { availableMemory, estimateMemory, formatBytes } from "../lib/train/memory.ts";
import type { BenchContext, BenchGroup, GroupResult, Row } from "./harness.ts";
import { PYTHON, TORCH_STYLES, torchParams } from "./peer.ts";

/** Updates per child: the second is the first with AdamW's moments already allocated (PyTorch makes them lazily). */
const STEPS = 2;
const MiB = 2 ** 20;

interface MemCase {
  name: string;
  layers: Record<string, unknown>;
  /** Only with --full. */
  full: boolean;
}

const CASES: MemCase[] = [
  { name: "small", layers: { preset: "small", batchSize: 8, updateFreq: 2 }, full: false },
  { name: "t1", layers: { preset: "t1", batchSize: 16, updateFreq: 2 }, full: false },
  { name: "paper125m", layers: { preset: "paper125m", batchSize: 1, updateFreq: 2 }, full: true },
];
const MEASURED = [...TORCH_STYLES.map((s) => `torch-${s}`), "cpu"];
const COLUMNS = ["torch-fairseq", "torch-nanogpt", "torch", "cpu", "estimate"];

/** What a child reports. */
interface Peak {
  peakBytes: number;
  baseBytes: number;
  params: number;
  seconds: number;
}

/** A field of /proc/self/status in bytes (Linux). */
function procStatus(key: "VmRSS" | "VmHWM"): number {
  const m = Deno.readTextFileSync("/proc/self/status").match(new RegExp(`^${key}:\\s*(\\d+) kB`, "m"));
  if (!m) throw new Error(`No ${key} in /proc/self/status`);
  return Number(m[1]) * 1024;
}

/** In the child: `steps` updates of `cfg` on the CPU backend; the peak after them and the RSS before the model. */
async function ourPeak(cfg: TrainConfig, steps: number): Promise<Peak & { loss: number }> {
  const { openCpu } = await import("./backends.ts");
  const { makeTrainStep } = await import("./step.ts");
  const be = await openCpu();
  if (typeof be === "string") throw new Error(be);
  const baseBytes = procStatus("VmRSS");
  const step = makeTrainStep(be, cfg);
  const t = performance.now();
  let loss = NaN;
  for (let i = 0; i < steps; i++) loss = await step.run();
  const peakBytes = procStatus("VmHWM"), seconds = (performance.now() - t) / 1e3;
  step.dispose();
  be.destroy();
  return { peakBytes, baseBytes, params: paramCount(cfg).total, seconds, loss };
}

/** Runs a child to its end; its last stdout line is a `Peak`, or the string says why not. */
async function child(cmd: string, args: string[]): Promise<Peak | string> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" }).output();
  } catch (e) {
    return `cannot run ${cmd}: ${e instanceof Error ? e.message : String(e)}`;
  }
  const last = (b: Uint8Array) => new TextDecoder().decode(b).trim().split("\n").pop() ?? "";
  if (!out.success) {
    const how = out.signal ? `killed by ${out.signal}${out.signal === "SIGKILL" ? " (out of memory?)" : ""}` : "failed";
    return `${how}: ${last(out.stderr).slice(0, 200)}`;
  }
  const msg = JSON.parse(last(out.stdout));
  return msg.error ? String(msg.error) : msg;
}

/** Our child and the PyTorch children of one case, one after another; each a Peak or why there is none. */
async function measureCase(cfg: TrainConfig, ctx: BenchContext, layers: Record<string, unknown>) {
  const peaks = new Map<string, Peak | string>();
  const self = new URL(import.meta.url).pathname;
  const ours = ["run", "-A", self, `--case=${JSON.stringify(layers)}`, `--steps=${STEPS}`];
  peaks.set("cpu", await child(Deno.execPath(), ours));
  const script = new URL("./torch_peer.py", import.meta.url).pathname;
  for (const style of TORCH_STYLES) {
    const peerCase = JSON.stringify({ ...torchParams(cfg, style), steps: STEPS });
    peaks.set(`torch-${style}`, await child(PYTHON, [script, `--threads=${ctx.threads}`, `--peak-memory=${peerCase}`]));
  }
  return peaks;
}

/** The peak-memory group: registered in `main.ts`. */
export const peakMemoryGroup: BenchGroup = {
  name: "peak_memory",
  async run(ctx: BenchContext): Promise<GroupResult> {
    const notes: string[] = [];
    const rows: Row[] = [];
    for (const c of CASES) {
      const layers = { ...c.layers, arch: "normformer" };
      const cfg = resolveConfig([layers]);
      const est = estimateMemory(cfg), avail = availableMemory();
      const shape = `B ${cfg.batchSize} × updateFreq ${cfg.updateFreq ?? 1}, T ${cfg.contextLength}`;
      if (c.full && !ctx.full) {
        notes.push(`${c.name} (${shape}, about ${formatBytes(est.total)} estimated): --full`);
        continue;
      }
      if (avail !== null && est.total > 0.9 * avail) {
        notes.push(`${c.name} skipped: about ${formatBytes(est.total)} estimated, ${formatBytes(avail)} available`);
        continue;
      }
      ctx.log(`peak_memory ${c.name} (${shape}): ${STEPS} updates per process`);
      const peaks = await measureCase(cfg, ctx, layers);
      const P = paramCount(cfg).total, tokens = cfg.batchSize * cfg.contextLength;
      const got = new Map<string, Peak>();
      for (const name of MEASURED) {
        const p = peaks.get(name)!;
        if (typeof p === "string") {
          notes.push(`${name} failed on ${c.name}: ${p}`);
          continue;
        }
        if (p.params !== P) notes.push(`${name} on ${c.name}: ${p.params} parameters, ours ${P}`);
        got.set(name, p);
        ctx.log(`  ${name}: peak ${(p.peakBytes / MiB).toFixed(0)} MiB (${p.seconds.toFixed(1)} s)`);
      }
      // The PyTorch peer of a case is its model with the lower peak.
      const torch = TORCH_STYLES.map((s) => got.get(`torch-${s}`)).filter((p) => p !== undefined)
        .sort((a, b) => a.peakBytes - b.peakBytes)[0];
      if (torch) got.set("torch", torch);
      const activations = Math.max(est.activations, est.eval);
      const estBase = est.total - est.parameters - est.optimizer - activations;
      got.set("estimate", { peakBytes: est.total, baseBytes: estBase, params: P, seconds: 0 });
      const metrics: [string, (p: Peak) => number][] = [
        ["peak RSS, MiB", (p) => p.peakBytes / MiB],
        ["base RSS, MiB", (p) => p.baseBytes / MiB],
        ["bytes/param", (p) => (p.peakBytes - p.baseBytes) / P],
        ["bytes/token", (p) => (p.peakBytes - p.baseBytes - 16 * P) / tokens],
      ];
      for (const [what, f] of metrics) {
        const row: Row = { label: `${c.name} ${what}`, values: {}, detail: { config: cfg, params: P, tokens } };
        for (const name of COLUMNS) {
          const p = got.get(name);
          row.values[name] = p ? f(p) : null;
          if (p && name !== "torch") row.detail![name] = p;
        }
        rows.push(row);
      }
      const winner = TORCH_STYLES.find((s) => got.get(`torch-${s}`) === torch);
      notes.push(`${c.name}: ${shape}, NormFormer, P ${P}; torch = torch-${winner ?? "—"}`);
    }
    notes.push(
      `a fresh process per case and model, ${STEPS} updates each; bytes/param (peak − base) / P; bytes/token ` +
        "(peak − base − 16 P) / (B·T): one pass's activations per token beyond weights, gradients, AdamW moments",
    );
    notes.push("estimate: lib/train/memory.ts (deno task train's figure; base = its runtime allowance)");
    return {
      name: "peak_memory",
      unit: "MiB, bytes per parameter or token, lower is better",
      columns: COLUMNS,
      peer: rows.some((r) => r.values.torch !== null) ? "torch" : null,
      rows,
      notes,
      plain: ["torch-fairseq", "torch-nanogpt", "estimate"],
      compare: [["cpu", "estimate"]],
    };
  },
};

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { case: { type: "string" }, steps: { type: "string", default: String(STEPS) } },
  });
  if (!values.case) throw new Error('Missing --case: a JSON config layer, e.g. --case=\'{"preset":"small"}\'');
  const peak = await ourPeak(resolveConfig([JSON.parse(values.case)]), Number(values.steps));
  console.log(JSON.stringify(peak));
  Deno.exit(0); // worker threads or the BLAS must not keep the process alive
}
