/**
 * `deno task grads --checkpoint DIR [--json]`: per-layer gradient norms on a fixed validation batch — the
 * gradient-mismatch measurement of paper Fig. 3 as a command (fc2 weight L1 norm per layer, and every weight).
 * @module
 */
import { formatHelp, parseFlags, UsageError } from "./args.ts";
import { modelFromCheckpoint, runMain, startBackend } from "./common.ts";
import { openTrainingData } from "../train/data.ts";
import { gradNorms } from "../metrics/grad_stats.ts";
import { tensor } from "../core/create.ts";
import type { BackendName, Provider } from "../backend/select.ts";

const SPEC = {
  help: { type: "boolean", short: "h", description: "Show this help." },
  checkpoint: { type: "string", description: "Run folder (runs/<name>) or its checkpoint/.", valueName: "dir" },
  backend: { type: "string", description: "cpu | webgpu | auto.", valueName: "name" },
  json: { type: "boolean", description: "Print every parameter's [L1, L2] as JSON on stdout." },
} as const;

await runMain(async () => {
  const { flags } = parseFlags(Deno.args, SPEC);
  if (flags.help) return console.log(formatHelp(SPEC, { usage: "deno task grads --checkpoint DIR [--json]" }));
  if (!flags.checkpoint) throw new UsageError("Missing --checkpoint DIR");
  await startBackend({ backend: (flags.backend ?? "auto") as BackendName, provider: "deno" as Provider });
  const { model, config, step, dir } = await modelFromCheckpoint(flags.checkpoint);
  const data = await openTrainingData({ ...config, evalTokens: config.batchSize * config.contextLength });
  const batch = data.valid[Symbol.iterator]().next().value!;
  const shape = [batch.inputs.length / batch.contextLength, batch.contextLength];
  model.loss(tensor(batch.inputs, { shape, dtype: "i32" }), tensor(batch.targets, { shape, dtype: "i32" })).backward();
  const norms = await gradNorms(model.namedParameters());
  if (flags.json) return console.log(JSON.stringify({ checkpoint: dir, step, grads: norms }));
  console.log(`gradient norms at step ${step} (one validation batch of ${shape[0]}×${shape[1]} tokens)`);
  console.log("layer  fc2.weight L1   fc2.weight L2   fc1.weight L1   out_proj L1");
  for (let i = 0; i < config.layers; i++) {
    const g = (n: string) => norms[`decoder.layers.${i}.${n}`]?.[0].toExponential(3).padStart(14) ?? "-".padStart(14);
    console.log(
      `${String(i).padStart(5)}  ${g("fc2.weight")}  ${
        norms[`decoder.layers.${i}.fc2.weight`][1].toExponential(3).padStart(14)
      }  ${g("fc1.weight")}  ${g("self_attn.out_proj.weight")}`,
    );
  }
  const first = norms["decoder.layers.0.fc2.weight"][0],
    last = norms[`decoder.layers.${config.layers - 1}.fc2.weight`][0];
  console.log(
    `fc2 L1 ratio layer 0 / layer ${config.layers - 1}: ${
      (first / last).toFixed(2)
    } (paper at step 600: Pre-LN ≈4.3, NormFormer ≈1.5)`,
  );
});
