/**
 * `deno task experiment <name> [--size quick|reference] [--only run,run]`: run an experiment from
 * `data/experiments/<name>.json` and write its records under `data/results/<size>/<name>/`.
 * @module
 */
import { formatHelp, parseFlags, UsageError } from "./args.ts";
import { describeBackend, runMain } from "./common.ts";
import { init } from "../core/init.ts";
import { readExperiment, resultsDir, runExperiment } from "../train/experiment.ts";
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
  backend: { type: "string", description: "cpu | webgpu | auto.", valueName: "name" },
  out: { type: "string", description: "Results root (default: the repository).", valueName: "dir" },
} as const;

const root = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

await runMain(async () => {
  const { flags, positionals } = parseFlags(Deno.args, SPEC, { allowPositionals: true });
  const names = [...Deno.readDirSync(`${root}/data/experiments`)].map((e) => e.name.replace(/\.json$/, "")).sort();
  if (flags.help || positionals.length !== 1) {
    const help = formatHelp(SPEC, {
      usage: "deno task experiment <name> [--size quick|reference]",
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
  const exp = await readExperiment(`${root}/data/experiments/${name}.json`);
  const backend = await init({ backend: (flags.backend ?? "auto") as BackendName });
  console.error(`experiment ${name} (${size}) on ${describeBackend(backend)}`);
  let last = "";
  const { dir, seconds } = await runExperiment(exp, {
    size,
    outDir: resultsDir(flags.out ?? root, size, name),
    only: flags.only?.split(",").filter((s) => s),
    onProgress: (p) => {
      if (p.step % 50 !== 0 && p.step !== p.steps) return;
      const line = `[${p.index + 1}/${p.runs}] ${p.run}: step ${p.step}/${p.steps} loss ${p.loss.toFixed(4)}`;
      if (line !== last) console.error(last = line);
    },
  });
  console.error(`wrote ${dir} in ${formatDuration(seconds)}`);
});
