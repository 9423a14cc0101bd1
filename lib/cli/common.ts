/**
 * What every command shares: the error policy (bad input — a usage or config mistake, or a missing, corrupted or
 * mismatched checkpoint — prints one line and exits 2; any other failure prints its message and exits 1), backend
 * start-up, and loading a model from a checkpoint.
 * @module
 */
import { UsageError } from "./args.ts";
import { ConfigError, type TrainConfig } from "../train/config.ts";
import { init } from "../core/init.ts";
import type { Backend } from "../backend/backend.ts";
import { CheckpointError, loadCheckpoint, restoreCheckpoint } from "../train/checkpoint.ts";
import { NormFormerLM } from "../model/normformer.ts";

/** Run a command's main, turning errors into one line and an exit code. */
export async function runMain(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (e) {
    const usage = e instanceof UsageError || e instanceof ConfigError || e instanceof CheckpointError;
    console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
    if (!usage && e instanceof Error && Deno.env.get("NK_DEBUG")) console.error(e.stack);
    Deno.exit(usage ? 2 : 1);
  }
}

const BACKENDS = ["cpu", "webgpu", "auto"], PROVIDERS = ["deno", "dawn"];

/** Start the configured backend and say which one runs; an unknown backend or provider name is a `UsageError`. */
export async function startBackend(
  cfg: { backend: TrainConfig["backend"]; provider: TrainConfig["provider"]; seed?: number },
): Promise<Backend> {
  if (!BACKENDS.includes(cfg.backend)) {
    throw new UsageError(`Invalid --backend "${cfg.backend}": expected one of ${BACKENDS.join(", ")}`);
  }
  if (!PROVIDERS.includes(cfg.provider)) {
    throw new UsageError(`Invalid --provider "${cfg.provider}": expected one of ${PROVIDERS.join(", ")}`);
  }
  return await init({ backend: cfg.backend, provider: cfg.provider, seed: cfg.seed });
}

/** Describe a backend in one line (the CPU names its matmul kernel). */
export function describeBackend(b: Backend): string {
  const extra = (b as { matmulKernel?: string }).matmulKernel ??
    (b as { adapterInfo?: { description?: string } }).adapterInfo?.description;
  return extra ? `${b.name} (${extra})` : b.name;
}

/**
 * Load a checkpoint's config and weights into a new model on the current backend. A missing, corrupted or
 * mismatched checkpoint throws a `CheckpointError` naming the folder and the file (bad input: exit code 2).
 */
export async function modelFromCheckpoint(
  dir: string,
): Promise<{ model: NormFormerLM; config: TrainConfig; step: number }> {
  const ckpt = await loadCheckpoint(dir);
  const model = new NormFormerLM(ckpt.config);
  try {
    restoreCheckpoint(ckpt, model);
  } catch (e) {
    model.dispose();
    throw e;
  }
  model.eval();
  return { model, config: ckpt.config, step: ckpt.state.step };
}

/** Read and parse a JSON config file, naming the file on failure. */
export async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new UsageError(`Cannot read config file "${path}": ${(e as Error).message}`);
  }
  try {
    const v = JSON.parse(text);
    if (v === null || typeof v !== "object" || Array.isArray(v)) throw new Error("expected a JSON object");
    return v;
  } catch (e) {
    throw new UsageError(`Cannot parse config file "${path}": ${(e as Error).message}`);
  }
}
