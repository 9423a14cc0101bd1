/**
 * The digest manifest of a checkpoint folder: `manifest.sha256` lists the SHA-256 of every file the folder holds
 * (config.json, model.safetensors, optimizer.safetensors, state.json) in `sha256sum` format, so
 * `sha256sum -c manifest.sha256` checks a checkpoint by hand, and ends with a comment line holding the SHA-256 of
 * the lines above it, so damage to the manifest itself is told apart from damage to a file. `loadCheckpoint`
 * refuses a folder whose manifest or any listed file does not match.
 *
 * This guards against accidents (bit rot, a torn copy, a hand edit of `"step": 60`), not against someone who
 * rewrites the manifest on purpose: there is no key.
 * @module
 */
import { sha256Hex } from "../data/hash.ts";

/** The manifest's file name inside a checkpoint folder. */
export const MANIFEST_FILE = "manifest.sha256";

/** Every file of a checkpoint, in the order the manifest lists them. */
export const CHECKPOINT_FILES = ["config.json", "model.safetensors", "optimizer.safetensors", "state.json"] as const;

/** A file of a checkpoint. */
export type CheckpointFile = typeof CHECKPOINT_FILES[number];

const HEADER = "# normformer-kit checkpoint: SHA-256 of every file (check with `sha256sum -c manifest.sha256`)\n";
const SELF = "# SHA-256 of the lines above: ";

/**
 * The manifest's bytes for files with these contents.
 * @example
 * ```ts
 * import { encodeManifest, parseManifest } from "./checkpoint_manifest.ts";
 * const enc = new TextEncoder();
 * const files = {
 *   "config.json": enc.encode("{}"),
 *   "model.safetensors": enc.encode("m"),
 *   "optimizer.safetensors": enc.encode("o"),
 *   "state.json": enc.encode("{}"),
 * };
 * const digests = await parseManifest(await encodeManifest(files));
 * console.log(digests["config.json"].length); // 64
 * ```
 */
export async function encodeManifest(files: Record<CheckpointFile, Uint8Array>): Promise<Uint8Array> {
  let body = HEADER;
  for (const name of CHECKPOINT_FILES) body += `${await sha256Hex(files[name])}  ${name}\n`;
  return new TextEncoder().encode(`${body}${SELF}${await sha256Hex(body)}\n`);
}

/**
 * Check a manifest's own digest and read the digest of each checkpoint file from it. Throws an `Error` whose
 * message says what is wrong (the caller names the folder and the file).
 */
export async function parseManifest(bytes: Uint8Array): Promise<Record<CheckpointFile, string>> {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new Error("is not UTF-8 text");
  }
  const at = text.lastIndexOf(SELF);
  const self = at < 0 ? null : /^([0-9a-f]{64})\n$/.exec(text.slice(at + SELF.length));
  if (!self) throw new Error(`does not end with its own digest line ("${SELF.trim()} <64 hex digits>")`);
  const body = text.slice(0, at);
  const sum = await sha256Hex(body);
  if (sum !== self[1]) {
    throw new Error(
      `is corrupted or was changed (its lines hash to ${sum.slice(0, 12)}…, its last line says ${
        self[1].slice(0, 12)
      }…)`,
    );
  }
  const out: Partial<Record<CheckpointFile, string>> = {};
  for (const line of body.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(line);
    const name = m?.[2] as CheckpointFile | undefined;
    if (!m || !CHECKPOINT_FILES.includes(name!)) throw new Error(`has an unexpected line ${JSON.stringify(line)}`);
    if (out[name!]) throw new Error(`lists ${name} twice`);
    out[name!] = m[1];
  }
  const missing = CHECKPOINT_FILES.filter((f) => !out[f]);
  if (missing.length) throw new Error(`does not list ${missing.join(", ")}`);
  return out as Record<CheckpointFile, string>;
}

/**
 * Rewrite `<dir>/manifest.sha256` for the files `dir` holds now: for tools and tests that edit a checkpoint on
 * purpose (a checkpoint edited by hand is otherwise refused). Not atomic; not for a folder a run is writing.
 */
export async function signCheckpoint(dir: string): Promise<void> {
  const files = {} as Record<CheckpointFile, Uint8Array>;
  for (const name of CHECKPOINT_FILES) files[name] = await Deno.readFile(`${dir}/${name}`);
  await Deno.writeFile(`${dir}/${MANIFEST_FILE}`, await encodeManifest(files));
}
