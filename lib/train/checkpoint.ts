/**
 * Checkpoints as DESIGN.md specifies: a folder with `model.safetensors` (fairseq state-dict names),
 * `optimizer.safetensors` (`<name>.exp_avg`, `<name>.exp_avg_sq`), `config.json`, `state.json` (step, RNG, data
 * position) and `manifest.sha256`, the SHA-256 of every other file (see `checkpoint_manifest.ts`): a checkpoint
 * loads only when every byte of every file is as it was saved. Written to a temporary folder, flushed, then
 * swapped in by renames, so a crash leaves either the previous checkpoint or the new one, never a mix.
 *
 * The swap, and what a crash at each point leaves (`loadCheckpoint` reads `<dir>` when it has a state.json, else
 * `<dir>.prev`; a `<dir>.tmp` is never read):
 * 1. fill and fsync `<dir>.tmp`: `<dir>` is the old checkpoint;
 * 2. rename `<dir>` → `<dir>.prev`: only `<dir>.prev` (the old checkpoint) is complete;
 * 3. rename `<dir>.tmp` → `<dir>`, fsync the parent: `<dir>` is the new checkpoint;
 * 4. remove `<dir>.prev`: a half-removed `<dir>.prev` is ignored because `<dir>` is complete.
 *
 * Fault injection for tests: when the environment variable `NK_FAULT_CHECKPOINT_DELAY_MS` is set (and env access
 * is granted), `saveCheckpoint` sleeps that many milliseconds after each file write, rename and removal, so a test
 * can kill the process at any point of a save. Unset, it costs one permission query per save.
 * @module
 */
import type { Tensor } from "../core/tensor.ts";
import { sha256Hex } from "../data/hash.ts";
import {
  CHECKPOINT_FILES,
  type CheckpointFile,
  encodeManifest,
  MANIFEST_FILE,
  parseManifest,
} from "./checkpoint_manifest.ts";
import { dirname, syncDir } from "./atomic.ts";
import { resolveConfig, type TrainConfig } from "./config.ts";
import { type DecodedTensor, decodeSafetensors, encodeSafetensors, type SafeTensor } from "./safetensors.ts";
import {
  type Checkpoint,
  CHECKPOINT_FORMAT,
  CheckpointError,
  checkStateFile,
  type RunState,
  type StateFile,
} from "./checkpoint_state.ts";

export {
  type Checkpoint,
  CHECKPOINT_FORMAT,
  CheckpointError,
  type RunState,
  type StateFile,
} from "./checkpoint_state.ts";
export { CHECKPOINT_FILES, type CheckpointFile, MANIFEST_FILE, signCheckpoint } from "./checkpoint_manifest.ts";
export { checkResumable, type MomentTarget, restoreCheckpoint, type WeightTarget } from "./checkpoint_restore.ts";

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
    // A path under a regular file ("out/file/run") cannot exist either.
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return false;
    throw e;
  }
}

/** The environment variable that slows `saveCheckpoint` down for crash tests (see the module doc). */
export const FAULT_DELAY_ENV = "NK_FAULT_CHECKPOINT_DELAY_MS";

/** The injected pause of a save, in ms: 0 unless `NK_FAULT_CHECKPOINT_DELAY_MS` is set and readable. */
function faultDelayMs(): number {
  try {
    if (Deno.permissions.querySync({ name: "env", variable: FAULT_DELAY_ENV }).state !== "granted") return 0;
    const ms = Number(Deno.env.get(FAULT_DELAY_ENV) ?? 0);
    return Number.isFinite(ms) && ms > 0 ? ms : 0;
  } catch {
    return 0;
  }
}

/** The points of a save where `SaveOptions.atPoint` is awaited (and the fault-injection delay sleeps). */
export type SavePoint =
  | "tmp created"
  | "model written"
  | "optimizer written"
  | "config written"
  | "state written"
  | "manifest written"
  | "old moved to prev"
  | "new in place"
  | "prev removed";

/** Options of `saveCheckpoint`. */
export interface SaveOptions {
  /** Test hook awaited at each point of the save, e.g. to copy the folder as a crash there would leave it. */
  atPoint?: (point: SavePoint) => Promise<void> | void;
}

/**
 * Write a checkpoint folder atomically: `<dir>.tmp` is filled and flushed, the old `<dir>` becomes `<dir>.prev`,
 * the new one is renamed into place, the parent folder is flushed, and only then is `<dir>.prev` removed. A crash
 * at any point leaves the old or the new checkpoint for `loadCheckpoint` (see the module doc).
 */
export async function saveCheckpoint(
  dir: string,
  parts: { params: Record<string, Tensor>; optimizer: Record<string, Tensor>; config: object; state: RunState },
  opts: SaveOptions = {},
): Promise<void> {
  const enc = new TextEncoder();
  const state: StateFile = { format: CHECKPOINT_FORMAT, ...parts.state };
  const contents: Record<CheckpointFile, Uint8Array> = {
    "model.safetensors": encodeSafetensors(await toHost(parts.params), { format: "pt" }),
    "optimizer.safetensors": encodeSafetensors(await toHost(parts.optimizer)),
    "config.json": enc.encode(JSON.stringify(parts.config, null, 2) + "\n"),
    "state.json": enc.encode(JSON.stringify(state, null, 2) + "\n"),
  };
  const tmp = `${dir}.tmp`, prev = `${dir}.prev`, parent = dirname(dir);
  const delay = faultDelayMs();
  const at = async (point: SavePoint) => {
    if (delay) await new Promise((r) => setTimeout(r, delay));
    await opts.atPoint?.(point);
  };
  await Deno.remove(tmp, { recursive: true }).catch(() => {});
  await Deno.mkdir(tmp, { recursive: true });
  await at("tmp created");
  const files: [string, Uint8Array, SavePoint][] = [
    ["model.safetensors", contents["model.safetensors"], "model written"],
    ["optimizer.safetensors", contents["optimizer.safetensors"], "optimizer written"],
    ["config.json", contents["config.json"], "config written"],
    ["state.json", contents["state.json"], "state written"],
    [MANIFEST_FILE, await encodeManifest(contents), "manifest written"],
  ];
  for (const [name, bytes, point] of files) {
    await writeSynced(`${tmp}/${name}`, bytes);
    await at(point);
  }
  await syncDir(tmp);
  // Only a complete <dir> becomes <dir>.prev. When <dir> is missing (a crash between the renames of an earlier
  // save), <dir>.prev holds that save's old checkpoint and stays until the new one is in place.
  if (await exists(`${dir}/state.json`)) {
    await Deno.remove(prev, { recursive: true }).catch(() => {});
    await Deno.rename(dir, prev);
    await at("old moved to prev");
  } else {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  await Deno.rename(tmp, dir);
  await syncDir(parent);
  await at("new in place");
  await Deno.remove(prev, { recursive: true }).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
  await syncDir(parent);
  await at("prev removed");
}

/**
 * Finish what an interrupted save left at `dir`, once a run has resumed from it: a `<dir>.prev` that is the only
 * complete checkpoint is renamed to `<dir>` (an incomplete `<dir>` is removed first), then a stale `<dir>.prev` and
 * `<dir>.tmp` are removed. Each step leaves a complete checkpoint, so a crash here is as harmless as in a save.
 * Returns the folder that now holds the checkpoint (`dir`), or null when there is none.
 */
export async function settleCheckpoint(dir: string): Promise<string | null> {
  const parent = dirname(dir);
  if (!(await exists(`${dir}/state.json`))) {
    if (!(await exists(`${dir}.prev/state.json`))) return null;
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    await Deno.rename(`${dir}.prev`, dir);
    await syncDir(parent);
  }
  for (const stale of [`${dir}.prev`, `${dir}.tmp`]) await Deno.remove(stale, { recursive: true }).catch(() => {});
  await syncDir(parent);
  return dir;
}

/** Whether a checkpoint (or an interrupted swap's previous one) exists at `dir`. */
export async function hasCheckpoint(dir: string): Promise<boolean> {
  return (await exists(`${dir}/state.json`)) || (await exists(`${dir}.prev/state.json`));
}

/**
 * Read and verify a checkpoint: `manifest.sha256` (its own digest, then the SHA-256 of every file it lists:
 * config.json, model.safetensors, optimizer.safetensors, state.json), then state.json's format and fields, both
 * tensor files, and config.json (through `resolveConfig`). Reads `<dir>` when it has a state.json, else
 * `<dir>.prev` (left by a save interrupted between its two renames); never `<dir>.tmp`. Every problem is an error
 * that names the folder and the file: `Cannot load checkpoint "<dir>": <file>: <what is wrong>` or
 * `… <file> is corrupted or was changed (…)`. Tensor names and shapes are checked against a model by
 * `restoreCheckpoint`.
 * @example
 * ```ts
 * import { loadCheckpoint } from "./checkpoint.ts";
 * try {
 *   await loadCheckpoint("runs/no-such-run/checkpoint");
 * } catch (e) {
 *   console.log((e as Error).message); // Cannot load checkpoint "runs/no-such-run/checkpoint": no state.json there
 * }
 * ```
 */
export async function loadCheckpoint(dir: string): Promise<Checkpoint> {
  const where = (await exists(`${dir}/state.json`))
    ? dir
    : (await exists(`${dir}.prev/state.json`))
    ? `${dir}.prev`
    : null;
  if (!where) throw new CheckpointError(`Cannot load checkpoint "${dir}": no state.json there`);
  const fail = (msg: string) => new CheckpointError(`Cannot load checkpoint "${where}": ${msg}`);
  const read = async (name: string) => {
    try {
      return await Deno.readFile(`${where}/${name}`);
    } catch (e) {
      if (name === MANIFEST_FILE && e instanceof Deno.errors.NotFound) {
        throw fail(
          `${MANIFEST_FILE} is missing (a checkpoint of format 1, written before every file carried a digest, or ` +
            `one whose manifest was removed): its files cannot be verified`,
        );
      }
      throw fail(`${name} is unreadable (${(e as Error).message})`);
    }
  };
  let digests: Record<CheckpointFile, string>;
  try {
    digests = await parseManifest(await read(MANIFEST_FILE));
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    throw fail(`${MANIFEST_FILE} ${(e as Error).message}`);
  }
  const bytes = {} as Record<CheckpointFile, Uint8Array>;
  for (const name of CHECKPOINT_FILES) {
    bytes[name] = await read(name);
    const sum = await sha256Hex(bytes[name]);
    if (sum !== digests[name]) {
      throw fail(
        `${name} is corrupted or was changed (SHA-256 ${sum.slice(0, 12)}…, ${MANIFEST_FILE} says ${
          digests[name].slice(0, 12)
        }…)`,
      );
    }
  }
  const json = (name: CheckpointFile) => {
    try {
      const v = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes[name]));
      if (v === null || typeof v !== "object" || Array.isArray(v)) throw new Error("not an object");
      return v;
    } catch (e) {
      throw fail(`${name} is not a JSON object (${(e as Error).message})`);
    }
  };
  const state = json("state.json") as StateFile;
  checkStateFile(state, (msg) => fail(`state.json ${msg}`));
  const files: Record<string, Record<string, DecodedTensor>> = {};
  for (const part of ["model", "optimizer"] as const) {
    try {
      files[part] = decodeSafetensors(bytes[`${part}.safetensors`]).tensors;
    } catch (e) {
      throw fail(`${part}.safetensors: ${(e as Error).message}`);
    }
  }
  let config: TrainConfig;
  try {
    config = resolveConfig([json("config.json")]);
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    throw fail(`config.json: ${(e as Error).message}`);
  }
  return { config, model: files.model, optimizer: files.optimizer, state, dir: where, manifest: digests };
}

/**
 * Whether `loadCheckpoint(dir)` would now read the very checkpoint `ckpt` (the same folder, the same manifest):
 * a run that loaded its checkpoint before taking the run folder's lock checks this once it holds the lock.
 */
export async function isCurrentCheckpoint(dir: string, ckpt: Checkpoint): Promise<boolean> {
  const where = (await exists(`${dir}/state.json`)) ? dir : `${dir}.prev`;
  if (where !== ckpt.dir) return false;
  try {
    const now = await parseManifest(await Deno.readFile(`${where}/${MANIFEST_FILE}`));
    return CHECKPOINT_FILES.every((f) => now[f] === ckpt.manifest[f]);
  } catch {
    return false;
  }
}
