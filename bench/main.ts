/**
 * `deno task bench`: runs every registered benchmark group against its peer in the same run, prints a table of
 * rates with ratios to the peer, and writes `bench/results.json` (atomically) with the machine it ran on.
 *
 * The environment may set OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, which hold OpenBLAS to AVX2 (~200 instead of
 * ~325 GFLOP/s at 1024²). OpenBLAS reads them when it loads, so this script re-runs itself in a child process
 * with both removed and OPENBLAS_NUM_THREADS set; PyTorch is started from that child, so it and we see the same
 * environment. `--keep-env` measures with the environment as it is.
 *
 * Flags: --only=matmul,ops,train_step,memory,peak_memory  --quick (fewer reps)  --reps=N (reps per runner)
 *        --full (all sizes on slow backends, peak_memory's paper125m)  --threads=2  --keep-env
 *        --no-tfjs (skip the TensorFlow.js columns)  --out=bench/results.json
 * To add a group: write bench/<group>.ts exporting a `BenchGroup` (see harness.ts) and list it in GROUPS;
 * add its peer's setup to GROUPS in torch_peer.py.
 * @module
 */
import { parseArgs } from "node:util";
import { type BenchContext, type BenchGroup, formatTable, type GroupResult } from "./harness.ts";
import { TorchPeer } from "./peer.ts";
import { benchEnvInfo, enterBenchEnv } from "./bench_env.ts";
import { TfjsPeer } from "./tfjs_peer.ts";
import { matmulGroup } from "./matmul.ts";
import { opsGroup } from "./ops.ts";
import { trainStepGroup } from "./train_step.ts";
import { memoryGroup } from "./memory.ts";
import { peakMemoryGroup } from "./peak_memory.ts";

/** Every benchmark group, in the order they run. */
const GROUPS: BenchGroup[] = [matmulGroup, opsGroup, trainStepGroup, memoryGroup, peakMemoryGroup];

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    only: { type: "string" },
    quick: { type: "boolean", default: false },
    full: { type: "boolean", default: false },
    threads: { type: "string", default: "2" },
    reps: { type: "string" },
    "keep-env": { type: "boolean", default: false },
    "no-tfjs": { type: "boolean", default: false },
    out: { type: "string", default: new URL("./results.json", import.meta.url).pathname },
  },
});
const threads = Number(flags.threads);
const reps = flags.reps === undefined ? undefined : Number(flags.reps);
if (reps !== undefined && (!Number.isInteger(reps) || reps < 1)) {
  throw new Error(`Invalid --reps "${flags.reps}": use a whole number ≥ 1`);
}
if (!Number.isInteger(threads) || threads < 1) {
  throw new Error(`Invalid --threads "${flags.threads}": use a whole number ≥ 1`);
}

await enterBenchEnv(import.meta.filename!, threads, flags["keep-env"]!);

const names = flags.only?.split(",") ?? GROUPS.map((g) => g.name);
const unknown = names.filter((n) => !GROUPS.some((g) => g.name === n));
if (unknown.length) {
  throw new Error(`Unknown group "${unknown[0]}" in --only: choose from ${GROUPS.map((g) => g.name).join(", ")}`);
}

let peer: Promise<TorchPeer | string> | undefined;
const tfjs = new Map<string, Promise<TfjsPeer | string>>();
const ctx: BenchContext = {
  quick: flags.quick,
  full: flags.full,
  threads,
  reps,
  log: (l) => console.error(l),
  peer: () => peer ??= TorchPeer.start(threads),
  tfjs: (column) => {
    if (flags["no-tfjs"]) return Promise.resolve("--no-tfjs");
    return tfjs.get(column) ?? tfjs.set(column, TfjsPeer.open(column)).get(column)!;
  },
};
const machine = await machineInfo();
console.log(`${machine.cpu}, ${machine.cores} cores; deno ${machine.deno}; ${machine.date}`);
console.log(`env: ${JSON.stringify(machine.env)}`);
console.log(loadWarning(machine.loadBefore, machine.cores) + "\n");

const results: GroupResult[] = [];
for (const g of GROUPS.filter((g) => names.includes(g.name))) {
  const r = await g.run(ctx);
  results.push(r);
  console.log(formatTable(r) + "\n");
}

const started = await peer;
if (started instanceof TorchPeer) await started.close();
const loadAfter = await loadAverage();
if (loadAfter !== null) console.log(`load average after: ${loadAfter}`);
const out = flags.out!;
const tmp = `${out}.${Deno.pid}.tmp`;
await Deno.writeTextFile(
  tmp,
  JSON.stringify({ schema: 1, args: Deno.args, machine: { ...machine, loadAfter }, groups: results }, null, 2) + "\n",
);
await Deno.rename(tmp, out);
console.log(`wrote ${out}`);

async function machineInfo() {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const field = (name: string) => cpuinfo.match(new RegExp(`^${name}\\s*: (.*)$`, "m"))?.[1];
  const cpuFlags = field("flags")?.split(" ") ?? [];
  return {
    cpu: field("model name") ?? Deno.build.arch,
    cores: navigator.hardwareConcurrency,
    simd: ["avx2", "fma", "avx512f"].filter((f) => cpuFlags.includes(f)),
    date: new Date().toISOString(),
    loadBefore: await loadAverage(),
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    os: `${Deno.build.os} ${Deno.osRelease()}`,
    env: benchEnvInfo(),
  };
}

/** The 1-minute load average (Linux), or null. */
async function loadAverage(): Promise<number | null> {
  const text = await Deno.readTextFile("/proc/loadavg").catch(() => "");
  return text ? Number(text.split(" ")[0]) : null;
}

/** Other processes on the machine skew the columns unequally: say so when the machine is busy. */
function loadWarning(load: number | null, cores: number): string {
  if (load === null) return "load average: unknown";
  const busy = load > 0.25 * cores ? ` on ${cores} cores: other processes compete; expect noisy ratios` : "";
  return `load average before: ${load}${busy}`;
}
