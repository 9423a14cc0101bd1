/**
 * Hostile checkpoint files, fuzzed: a valid checkpoint's files get bytes flipped, are truncated or extended — half
 * of the cases with manifest.sha256 re-signed ("forged"), so the parsers behind the digest check meet the damage.
 * Every case resumes through `train({ resume: true })` in a worker. An unforged damaged file must be refused with
 * a `CheckpointError` naming the checkpoint and that file; a forged one must either load weights bitwise equal to
 * what its model.safetensors holds or be refused the same way; no case may hang (per-case limit) or crash.
 * A second test flips the value of every field of state.json and config.json, one at a time, keeping valid JSON
 * and plausible values (step 2 → 3, a sampler position, an rng word, lr, seed …): each must be refused.
 * Replay with NK_FUZZ_SEED=<seed> (printed on failure); NK_FUZZ_CASES sets the count.
 * @module
 */
import { assert, assertEquals } from "../assert.ts";
import { init } from "../../lib/core/init.ts";
import { encodeManifest } from "../../lib/train/checkpoint_manifest.ts";
import { resolveConfig } from "../../lib/train/config.ts";
import { train } from "../../lib/train/loop.ts";
import { CheckpointError } from "../../lib/train/checkpoint.ts";
import type { FuzzReply, FuzzRequest } from "./_fuzz_worker.ts";
import { seeded, seedFromEnv, TINY_CONFIG } from "./_helpers.ts";

const SEED = seedFromEnv("NK_FUZZ_SEED", 7_2025);
const CASES = seedFromEnv("NK_FUZZ_CASES", 400);
const CASE_LIMIT_MS = 15_000;
const FILES = ["model.safetensors", "optimizer.safetensors", "state.json", "config.json"] as const;
const ALL = [...FILES, "manifest.sha256"] as const;
type FileName = typeof FILES[number];

interface Mutation {
  file: FileName;
  op: "flip" | "truncate" | "extend";
  forged: boolean;
  detail: string;
}

/** Damage one file of `files` as `rand` decides; returns the description. */
function mutate(files: Record<FileName, Uint8Array>, rand: () => number): Mutation {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];
  const file = pick<FileName>([
    "model.safetensors",
    "model.safetensors",
    "optimizer.safetensors",
    "state.json",
    "config.json",
  ]);
  const op = pick(["flip", "flip", "truncate", "extend"] as const);
  const bytes = files[file], tensors = file.endsWith(".safetensors");
  let detail: string;
  if (op === "flip") {
    // Tensor files: mostly the length prefix and the JSON header, where a parser can go wrong.
    const headerEnd = tensors ? 8 + Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true)) : 0;
    const n = 1 + Math.floor(rand() * 4), at: number[] = [];
    const out = bytes.slice();
    for (let k = 0; k < n; k++) {
      const i = Math.floor(rand() * (tensors && rand() < 0.7 ? headerEnd : bytes.length));
      const printable = '0123456789-.eE"{}[],: tfn\\';
      out[i] = rand() < 0.6
        ? printable.charCodeAt(Math.floor(rand() * printable.length))
        : bytes[i] ^ (1 + (rand() * 255 | 0));
      at.push(i);
    }
    files[file] = out;
    detail = `bytes ${at.join(",")}`;
  } else if (op === "truncate") {
    const len = Math.floor(rand() * bytes.length);
    files[file] = bytes.slice(0, len);
    detail = `to ${len} of ${bytes.length} bytes`;
  } else {
    const extra = rand() < 0.2 ? bytes.length : 1 + Math.floor(rand() * 64);
    const out = new Uint8Array(bytes.length + extra);
    out.set(bytes);
    for (let i = bytes.length; i < out.length; i++) out[i] = rand() * 256 | 0;
    files[file] = out;
    detail = `by ${extra} bytes`;
  }
  return { file, op, forged: rand() < 0.5, detail };
}

type Folder = Record<FileName | "manifest.sha256", Uint8Array>;

/** Re-sign the manifest for the files as they are now (what a deliberate forger would do). */
async function forge(files: Folder): Promise<void> {
  files["manifest.sha256"] = await encodeManifest(files);
}

/** Whether two byte arrays are equal. */
const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

Deno.test(`checkpoint fuzz: ${CASES} damaged checkpoints load bitwise or fail with a clear error`, async () => {
  await init({ backend: "cpu" });
  const root = await Deno.makeTempDir();
  const config = resolveConfig([{ ...TINY_CONFIG, steps: 4, evalEvery: 2, checkpointEvery: 2, dropout: 0.1 }]);
  const first = await train({ config, runDir: `${root}/pristine` });
  first.model.dispose();
  first.optimizer.dispose();
  const original = Object.fromEntries(
    await Promise.all(ALL.map(async (f) => [f, await Deno.readFile(`${root}/pristine/checkpoint/${f}`)])),
  ) as Folder;
  const metrics = await Deno.readFile(`${root}/pristine/metrics.jsonl`);

  const worker = new Worker(new URL("./_fuzz_worker.ts", import.meta.url).href, { type: "module" });
  let crashed: string | null = null;
  const replies: FuzzReply[] = [];
  let wake: (() => void) | null = null;
  worker.onmessage = (e: MessageEvent<FuzzReply>) => (replies.push(e.data), wake?.());
  worker.onerror = (e) => (crashed = e.message, e.preventDefault(), wake?.());
  const ask = async (req: FuzzRequest, what: string): Promise<FuzzReply> => {
    worker.postMessage(req);
    let timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((resolve) => {
      wake = resolve;
      timer = setTimeout(resolve, CASE_LIMIT_MS);
      if (replies.length) resolve();
    });
    clearTimeout(timer);
    if (crashed) throw new Error(`${what} crashed the worker: ${crashed}`);
    const reply = replies.shift();
    if (!reply) throw new Error(`${what} took over ${CASE_LIMIT_MS} ms (a hang)`);
    return reply;
  };

  const rand = seeded(SEED);
  const failures: string[] = [];
  const tally: Record<string, number> = {};
  let parserErrors = 0;
  try {
    await ask({ kind: "setup", config, model: original["model.safetensors"] }, "setup");
    for (let i = 0; i < CASES; i++) {
      const files = { ...original };
      const m = mutate(files, rand);
      const damaged = !sameBytes(files[m.file], original[m.file]);
      if (m.forged) await forge(files);
      const what = `case ${i} (NK_FUZZ_SEED=${SEED}): ${m.op} ${m.file} ${m.detail}${
        m.forged ? ", checksum forged" : ""
      }`;
      const runDir = `${root}/case`;
      await Deno.remove(runDir, { recursive: true }).catch(() => {});
      await Deno.mkdir(`${runDir}/checkpoint`, { recursive: true });
      for (const f of ALL) await Deno.writeFile(`${runDir}/checkpoint/${f}`, files[f]);
      await Deno.writeFile(`${runDir}/metrics.jsonl`, metrics);
      const r = await ask({ kind: "case", runDir }, what);
      if (r.kind === "loaded") {
        tally.loaded = (tally.loaded ?? 0) + 1;
        if (damaged && !m.forged) failures.push(`${what}: a damaged file loaded without its digest being forged`);
        if (!r.equalsFile) failures.push(`${what}: loaded weights that differ from its model.safetensors`);
        if (!m.forged && !r.equalsPristine) failures.push(`${what}: loaded weights that differ from the original`);
      } else if (r.kind === "error") {
        const key = r.message.replace(/"[^"]*"/g, "…").replace(/\d+(\.\d+)?/g, "N").slice(0, 60);
        tally[key] = (tally[key] ?? 0) + 1;
        if (/safetensors: /.test(r.message)) parserErrors++;
        if (r.name !== "CheckpointError" || !/^Cannot (load checkpoint|resume)/.test(r.message)) {
          failures.push(`${what}: unclear ${r.name}: ${r.message}\n${r.stack}`);
        } else if (!m.forged && !r.message.includes(`${m.file} is corrupted or was changed`)) {
          failures.push(`${what}: refused without naming ${m.file} as changed: ${r.message}`);
        }
      }
    }
  } finally {
    worker.terminate();
    await Deno.remove(root, { recursive: true });
  }
  console.log(`checkpoint fuzz (seed ${SEED}, ${CASES} cases):`, tally);
  assertEquals(failures, [], `${failures.length} of ${CASES} cases failed (seed ${SEED}):\n${failures.join("\n")}`);
  assert.ok(parserErrors >= 10, `only ${parserErrors} cases reached the safetensors parser (seed ${SEED})`);
  assert.ok((tally.loaded ?? 0) >= 1, `no damaged checkpoint loaded (seed ${SEED}): harmless edits should`);
});

/** Every leaf of a JSON value with a path, and a plausible other value for it. */
function leaves(v: unknown, path: (string | number)[] = []): { path: (string | number)[]; to: unknown }[] {
  if (Array.isArray(v)) return v.flatMap((x, i) => leaves(x, [...path, i]));
  if (v !== null && typeof v === "object") return Object.entries(v).flatMap(([k, x]) => leaves(x, [...path, k]));
  const to = typeof v === "number"
    ? (Number.isInteger(v) ? v + 1 : v * 1.5 + 1e-3)
    : typeof v === "boolean"
    ? !v
    : typeof v === "string"
    ? `${v}x`
    : 0;
  return [{ path, to }];
}

function setPath(obj: any, path: (string | number)[], to: unknown): void {
  for (const k of path.slice(0, -1)) obj = obj[k];
  obj[path.at(-1)!] = to;
}

Deno.test("checkpoint fuzz: a changed value of any field of state.json or config.json is refused, naming the file", async () => {
  await init({ backend: "cpu" });
  const root = await Deno.makeTempDir();
  const config = resolveConfig([{ ...TINY_CONFIG, steps: 4, evalEvery: 2, checkpointEvery: 2, dropout: 0.1 }]);
  const first = await train({ config, runDir: `${root}/pristine` });
  first.model.dispose();
  first.optimizer.dispose();
  const src = `${root}/pristine`;
  const failures: string[] = [];
  let cases = 0;
  try {
    for (const file of ["state.json", "config.json"] as const) {
      const text = await Deno.readTextFile(`${src}/checkpoint/${file}`);
      const edits = leaves(JSON.parse(text)).map(({ path, to }) => {
        const obj = JSON.parse(text);
        setPath(obj, path, to);
        return {
          what: `${file} ${path.join(".")} → ${JSON.stringify(to)}`,
          bytes: JSON.stringify(obj, null, 2) + "\n",
        };
      });
      // The same values written differently are changed bytes too.
      edits.push({ what: `${file} re-serialized without indentation`, bytes: JSON.stringify(JSON.parse(text)) });
      if (file === "state.json") assert.ok(edits.length >= 12, `only ${edits.length} state.json fields`);
      for (const { what, bytes } of edits) {
        cases++;
        const runDir = `${root}/case`;
        await Deno.remove(runDir, { recursive: true }).catch(() => {});
        await Deno.mkdir(runDir);
        await Deno.copyFile(`${src}/metrics.jsonl`, `${runDir}/metrics.jsonl`);
        await Deno.mkdir(`${runDir}/checkpoint`);
        for (const e of Deno.readDirSync(`${src}/checkpoint`)) {
          await Deno.copyFile(`${src}/checkpoint/${e.name}`, `${runDir}/checkpoint/${e.name}`);
        }
        await Deno.writeTextFile(`${runDir}/checkpoint/${file}`, bytes);
        const stop = new AbortController();
        stop.abort();
        try {
          const run = await train({ config, runDir, resume: true, signal: stop.signal });
          run.model.dispose();
          run.optimizer.dispose();
          failures.push(`${what}: resumed`);
        } catch (e) {
          const want = `Cannot load checkpoint "${runDir}/checkpoint": ${file} is corrupted or was changed`;
          if (!(e instanceof CheckpointError) || !(e as Error).message.startsWith(want)) {
            failures.push(`${what}: ${(e as Error).name}: ${(e as Error).message}`);
          }
        }
      }
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
  assertEquals(failures, [], `${failures.length} of ${cases} value flips were not refused:\n${failures.join("\n")}`);
  assert.ok(cases >= 50, `only ${cases} fields flipped`);
});
