/**
 * `deno task experiment <name> [--size quick|reference] [--only run,run] [--resume] [--jobs N]`: run an
 * experiment from `data/experiments/<name>.json` and write its records under `data/results/<size>/<name>/`.
 * Each finished run is written at once; `--resume` skips runs already written with the same config, so an
 * interrupted sweep continues where it stopped. `--jobs N` runs N single-threaded processes side by side
 * (`NK_CPU_THREADS=1`, `OPENBLAS_NUM_THREADS=1`), one run each at a time: on a machine with N cores that is
 * faster than one multi-threaded process for the small models of the sweeps.
 * @module
 */
import { formatHelp, parseFlags, UsageError } from "./args.ts";
import { describeBackend, runMain } from "./common.ts";
import { init } from "../core/init.ts";
import { readExperiment, resultsDir, runExperiment, selectRuns } from "../train/experiment.ts";
import { formatDuration } from "./progress.ts";
import type { BackendName } from "../backend/select.ts";

const SPEC = {
  help: { type: "boolean", short: "h", description: "Show this help." },
  size: {
    type: "string",
    description: "quick (seconds) or reference (default; the committed results).",
    valueName: "size",
  },
  only: { type: "string", description: "Comma-separated run names to (re)run.", valueName: "runs" },
  resume: { type: "boolean", description: "Skip runs whose results exist with the same config." },
  jobs: { type: "string", description: "Run this many single-threaded processes side by side.", valueName: "n" },
  backend: { type: "string", description: "cpu | webgpu | auto.", valueName: "name" },
  out: { type: "string", description: "Results root (default: the repository).", valueName: "dir" },
} as const;

const root = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

await runMain(async () => {
  const { flags, positionals } = parseFlags(Deno.args, SPEC, { allowPositionals: true });
  const names = [...Deno.readDirSync(`${root}/data/experiments`)].map((e) => e.name.replace(/\.json$/, "")).sort();
  if (flags.help || positionals.length !== 1) {
    const help = formatHelp(SPEC, {
      usage: "deno task experiment <name> [--size quick|reference] [--resume] [--jobs N]",
      footer: `Experiments: ${names.join(", ")}`,
    });
    if (flags.help) return console.log(help);
    throw new UsageError(`Expected one experiment name (${names.join(", ")})`);
  }
  const name = positionals[0];
  if (!names.includes(name)) throw new UsageError(`Unknown experiment "${name}": expected one of ${names.join(", ")}`);
  const size = flags.size ?? "reference";
  if (size !== "quick" && size !== "reference") {
    throw new UsageError(`Invalid --size "${size}": expected quick or reference`);
  }
  const jobs = flags.jobs === undefined ? 1 : Number(flags.jobs);
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 64) {
    throw new UsageError(`Invalid --jobs "${flags.jobs}": expected an integer from 1 to 64`);
  }
  const exp = await readExperiment(`${root}/data/experiments/${name}.json`);
  let only: string[] | undefined;
  try {
    only = selectRuns(exp, flags.only?.split(",").filter((s) => s)).map((r) => r.name);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const outDir = resultsDir(flags.out ?? root, size, name);
  if (jobs > 1) return await runJobs(name, size, only, jobs, flags);
  const backend = await init({ backend: (flags.backend ?? "auto") as BackendName });
  console.error(`experiment ${name} (${size}) on ${describeBackend(backend)}`);
  let last = "";
  const threads = (backend as { threads?: number }).threads ?? 0;
  const { dir, seconds, ran } = await runExperiment(exp, {
    size,
    outDir,
    only,
    resume: flags.resume,
    threads,
    onSkip: (run) => console.error(`${run}: already done (--resume)`),
    onProgress: (p) => {
      if (p.step % 50 !== 0 && p.step !== p.steps) return;
      const line = `[${p.index + 1}/${p.runs}] ${p.run}: step ${p.step}/${p.steps} loss ${p.loss.toFixed(4)}`;
      if (line !== last) console.error(last = line);
    },
  });
  console.error(`wrote ${ran.length} run(s) to ${dir} in ${formatDuration(seconds)}`);
});

/** Run each selected run in its own single-threaded child process, `jobs` at a time; stop at the first failure. */
async function runJobs(
  name: string,
  size: string,
  runs: string[],
  jobs: number,
  flags: { resume?: boolean; backend?: string; out?: string },
): Promise<void> {
  const queue = [...runs];
  const started = performance.now();
  let failed: string | null = null;
  console.error(`experiment ${name} (${size}): ${runs.length} run(s), ${jobs} single-threaded processes`);
  const worker = async () => {
    while (queue.length && !failed) {
      const run = queue.shift()!;
      const args = ["run", "-A", `${root}/lib/cli/experiment.ts`, name, `--size=${size}`, `--only=${run}`];
      if (flags.resume) args.push("--resume");
      if (flags.backend) args.push(`--backend=${flags.backend}`);
      if (flags.out) args.push(`--out=${flags.out}`);
      const child = new Deno.Command(Deno.execPath(), {
        args,
        env: { NK_CPU_THREADS: "1", OPENBLAS_NUM_THREADS: "1", OPENBLAS_THREAD_TIMEOUT: "4" },
        stdout: "inherit",
        stderr: "inherit",
      }).spawn();
      const { code } = await child.status;
      if (code !== 0) failed = `run ${run} exited with status ${code}`;
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, runs.length) }, worker));
  if (failed) throw new Error(`Experiment ${name} stopped: ${failed}`);
  console.error(`experiment ${name}: ${runs.length} run(s) in ${formatDuration((performance.now() - started) / 1000)}`);
}
