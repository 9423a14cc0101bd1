/**
 * What every command shares: the error policy (bad input — a usage or config mistake, a missing, corrupted or
 * mismatched checkpoint, or a run folder another writer holds — prints one line and exits 2; any other failure prints its message and exits 1), backend
 * start-up, and loading a model from a checkpoint.
 * @module
 */
import { UsageError } from "./args.ts";
import { ConfigError, type TrainConfig } from "../train/config.ts";
import { init } from "../core/init.ts";
import type { Backend } from "../backend/backend.ts";
import { CheckpointError, loadCheckpoint, restoreCheckpoint } from "../train/checkpoint.ts";
import { RunLockError, runLockHolder } from "../train/run_lock.ts";
import { dirname } from "../train/atomic.ts";
import { NormFormerLM } from "../model/normformer.ts";
import { getBackend } from "../core/runtime.ts";

/** Run a command's main, turning errors into one line and an exit code. */
export async function runMain(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (e) {
    const usage = e instanceof UsageError || e instanceof ConfigError || e instanceof CheckpointError ||
      e instanceof RunLockError;
    console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
    if (!usage && e instanceof Error && Deno.env.get("NK_DEBUG")) console.error(e.stack);
    await exitWhenIdle(usage ? 2 : 1);
  }
}

/**
 * End the process with `code` once the current backend has finished the work queued on it. `Deno.exit` skips the
 * runtime's teardown, so a WebGPU device still running a batch has Mesa's lavapipe compile shaders (LLVM) on its
 * own thread while the exit handlers free LLVM's globals: a segfault or "free(): invalid next size" after the last
 * line (issue 14, item 5). Reading one element back waits for everything queued before it; at most `waitMs`, so a
 * lost or hung device cannot hold the exit. Nothing to wait for without a backend or on the CPU.
 */
export async function exitWhenIdle(code: number, waitMs = 2000): Promise<never> {
  let backend: Backend | null = null;
  try {
    backend = getBackend();
  } catch {
    // no backend was started
  }
  if (backend?.name === "webgpu") {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const probe = backend.alloc(1, "f32");
      const done = backend.read(probe).then(() => backend.free(probe));
      await Promise.race([done, new Promise((r) => timer = setTimeout(r, waitMs))]);
    } catch {
      // destroyed or lost: nothing runs on it any more
    } finally {
      clearTimeout(timer);
    }
  }
  Deno.exit(code);
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
  path: string,
): Promise<{ model: NormFormerLM; config: TrainConfig; step: number; dir: string }> {
  const dir = await checkpointDir(path);
  const ckpt = await loadWhileWritten(dir);
  const model = new NormFormerLM(ckpt.config);
  try {
    restoreCheckpoint(ckpt, model);
  } catch (e) {
    model.dispose();
    throw e;
  }
  model.eval();
  return { model, config: ckpt.config, step: ckpt.state.step, dir };
}

/**
 * The checkpoint folder that `--checkpoint PATH` means: PATH itself when it holds a checkpoint (or its `.prev`, left
 * by a save between its two renames), else PATH/checkpoint when PATH is a run folder (what `train` prints). A
 * missing path or a file is a `UsageError` saying so; a folder with neither is a `CheckpointError`.
 */
export async function checkpointDir(path: string): Promise<string> {
  const has = (d: string) => isFile(`${d}/state.json`).then(async (f) => f || await isFile(`${d}.prev/state.json`));
  if (await has(path)) return path;
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new UsageError(`Checkpoint "${path}" does not exist: give a run folder (runs/<name>) or its checkpoint/`);
    }
    throw new UsageError(`Cannot read checkpoint "${path}": ${(e as Error).message}`);
  }
  if (!info.isDirectory) throw new UsageError(`Checkpoint "${path}" is a file: give a run folder or its checkpoint/`);
  if (await has(`${path}/checkpoint`)) return `${path}/checkpoint`;
  throw new CheckpointError(
    `Cannot load checkpoint "${path}": no state.json there, nor a checkpoint/ folder (a run that saved none yet?)`,
  );
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/**
 * `loadCheckpoint`, reading beside a run that may be saving: when loading fails while the run folder's writer
 * holds its lock, the folder may have been swapped mid-read, so it is read again (a few times) before failing.
 */
async function loadWhileWritten(dir: string) {
  for (let attempt = 0;; attempt++) {
    try {
      return await loadCheckpoint(dir);
    } catch (e) {
      if (!(e instanceof CheckpointError) || attempt >= 3 || !(await runLockHolder(dirname(dir)))) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
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
