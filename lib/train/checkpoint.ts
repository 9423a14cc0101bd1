/**
 * Checkpoints as DESIGN.md specifies: a folder with `model.safetensors` (fairseq state-dict names),
 * `optimizer.safetensors` (`<name>.exp_avg`, `<name>.exp_avg_sq`), `config.json` and `state.json` (step, RNG,
 * data position, SHA-256 of both tensor files). Written to a temporary folder, flushed, then swapped in by
 * renames, so a crash leaves either the previous checkpoint or the new one, never a mix.
 * @module
 */
import type { Tensor } from "../core/tensor.ts";
import type { RngState } from "../core/rng.ts";
import { sha256Hex } from "../data/hash.ts";
import { type DecodedTensor, decodeSafetensors, encodeSafetensors, type SafeTensor } from "./safetensors.ts";

/** Format version written into state.json. */
export const CHECKPOINT_FORMAT = 1;

/** Where a run stands: everything needed to continue bit-for-bit. */
export interface RunState {
  /** Updates done. */
  step: number;
  /** Training tokens consumed. */
  tokens: number;
  /** Cumulative training FLOPs. */
  flops: number;
  /** Training seconds so far. */
  time: number;
  /** Generator state (dropout seeds). */
  rng: RngState;
  /** Batch sampler state. */
  sampler: unknown;
  /** Lines of metrics.jsonl that belong to steps ≤ step (the rest is dropped on resume). */
  metricsLines: number;
  /** Steps skipped for non-finite loss or gradients. */
  skippedSteps: number;
}

/** What state.json holds. */
export interface StateFile extends RunState {
  format: number;
  /** SHA-256 of model.safetensors and optimizer.safetensors. */
  sha256: { model: string; optimizer: string };
}

/** A loaded checkpoint. */
export interface Checkpoint {
  /** The resolved config saved with it. */
  config: Record<string, unknown>;
  /** Parameters by fairseq name. */
  model: Record<string, DecodedTensor>;
  /** Optimizer moments by name. */
  optimizer: Record<string, DecodedTensor>;
  /** Run state. */
  state: StateFile;
  /** The folder actually read (the previous one if a swap was interrupted). */
  dir: string;
}

async function toHost(named: Record<string, Tensor>): Promise<Record<string, SafeTensor>> {
  const out: Record<string, SafeTensor> = {};
  for (const [n, t] of Object.entries(named)) {
    out[n] = { dtype: "F32", shape: [...t.shape], data: (await t.toArray()) as Float32Array };
  }
  return out;
}

async function writeSynced(path: string, bytes: Uint8Array): Promise<void> {
  const f = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    let n = 0;
    while (n < bytes.length) n += await f.write(bytes.subarray(n));
    await f.sync();
  } finally {
    f.close();
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * Write a checkpoint folder atomically: `<dir>.tmp` is filled and flushed, the old `<dir>` becomes `<dir>.prev`,
 * the new one is renamed into place, and only then is `<dir>.prev` removed.
 */
export async function saveCheckpoint(
  dir: string,
  parts: { params: Record<string, Tensor>; optimizer: Record<string, Tensor>; config: object; state: RunState },
): Promise<void> {
  const model = encodeSafetensors(await toHost(parts.params), { format: "pt" });
  const optimizer = encodeSafetensors(await toHost(parts.optimizer));
  const state: StateFile = {
    format: CHECKPOINT_FORMAT,
    ...parts.state,
    sha256: { model: await sha256Hex(model), optimizer: await sha256Hex(optimizer) },
  };
  const tmp = `${dir}.tmp`, prev = `${dir}.prev`;
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  await Deno.mkdir(tmp, { recursive: true });
  const enc = new TextEncoder();
  await writeSynced(`${tmp}/model.safetensors`, model);
  await writeSynced(`${tmp}/optimizer.safetensors`, optimizer);
  await writeSynced(`${tmp}/config.json`, enc.encode(JSON.stringify(parts.config, null, 2) + "\n"));
  await writeSynced(`${tmp}/state.json`, enc.encode(JSON.stringify(state, null, 2) + "\n"));
  const hadOld = await exists(dir);
  if (hadOld) {
    await Deno.remove(prev, { recursive: true }).catch(() => {});
    await Deno.rename(dir, prev);
  }
  await Deno.rename(tmp, dir);
  if (hadOld) await Deno.remove(prev, { recursive: true });
}

/** Whether a checkpoint (or an interrupted swap's previous one) exists at `dir`. */
export async function hasCheckpoint(dir: string): Promise<boolean> {
  return (await exists(`${dir}/state.json`)) || (await exists(`${dir}.prev/state.json`));
}

/**
 * Read and verify a checkpoint: state.json's format and checksums, both tensor files, config.json. Every problem
 * is an error naming the folder and the file.
 */
export async function loadCheckpoint(dir: string): Promise<Checkpoint> {
  const where = (await exists(`${dir}/state.json`))
    ? dir
    : (await exists(`${dir}.prev/state.json`))
    ? `${dir}.prev`
    : null;
  if (!where) throw new Error(`Cannot load checkpoint "${dir}": no state.json there`);
  const read = async (name: string) => {
    try {
      return await Deno.readFile(`${where}/${name}`);
    } catch (e) {
      throw new Error(`Cannot load checkpoint "${where}": ${name} is unreadable (${(e as Error).message})`);
    }
  };
  const json = (name: string, bytes: Uint8Array) => {
    try {
      const v = JSON.parse(new TextDecoder().decode(bytes));
      if (v === null || typeof v !== "object" || Array.isArray(v)) throw new Error("not an object");
      return v;
    } catch (e) {
      throw new Error(`Cannot load checkpoint "${where}": ${name} is not a JSON object (${(e as Error).message})`);
    }
  };
  const state = json("state.json", await read("state.json")) as StateFile;
  if (state.format !== CHECKPOINT_FORMAT) {
    throw new Error(`Cannot load checkpoint "${where}": format ${state.format}, expected ${CHECKPOINT_FORMAT}`);
  }
  for (const key of ["step", "tokens", "flops", "time", "metricsLines", "skippedSteps"] as const) {
    if (typeof state[key] !== "number" || !(state[key] >= 0)) {
      throw new Error(
        `Cannot load checkpoint "${where}": state.json ${key} is ${JSON.stringify(state[key])}, expected a number ≥ 0`,
      );
    }
  }
  const files: Record<string, Record<string, DecodedTensor>> = {};
  for (const part of ["model", "optimizer"] as const) {
    const bytes = await read(`${part}.safetensors`);
    const sum = await sha256Hex(bytes);
    if (sum !== state.sha256?.[part]) {
      throw new Error(
        `Cannot load checkpoint "${where}": ${part}.safetensors is corrupted or was changed (SHA-256 ${
          sum.slice(0, 12)
        }…, state.json says ${String(state.sha256?.[part]).slice(0, 12)}…)`,
      );
    }
    try {
      files[part] = decodeSafetensors(bytes).tensors;
    } catch (e) {
      throw new Error(`Cannot load checkpoint "${where}": ${part}.safetensors: ${(e as Error).message}`);
    }
  }
  const config = json("config.json", await read("config.json"));
  return { config, model: files.model, optimizer: files.optimizer, state, dir: where };
}
