/**
 * Hostile checkpoint files, fuzzed: a valid checkpoint's files get bytes flipped, are truncated or extended — half
 * of the tensor-file cases with the SHA-256 in state.json recomputed, so the safetensors parser itself meets the
 * damage. Every case resumes through `train({ resume: true })` in a worker and must either load weights bitwise
 * equal to what its model.safetensors holds (and, unless the checksum was forged, to the original) or throw a
 * `CheckpointError` with a message that names the checkpoint; no case may hang (per-case limit) or crash.
 * Replay with NK_FUZZ_SEED=<seed> (printed on failure); NK_FUZZ_CASES sets the count.
 * @module
 */
import { assert, assertEquals } from "../assert.ts";
import { init } from "../../lib/core/init.ts";
import { sha256Hex } from "../../lib/data/hash.ts";
import { resolveConfig } from "../../lib/train/config.ts";
import { train } from "../../lib/train/loop.ts";
import type { FuzzReply, FuzzRequest } from "./_fuzz_worker.ts";
import { seeded, seedFromEnv, TINY_CONFIG } from "./_helpers.ts";

const SEED = seedFromEnv("NK_FUZZ_SEED", 7_2025);
const CASES = seedFromEnv("NK_FUZZ_CASES", 400);
const CASE_LIMIT_MS = 15_000;
const FILES = ["model.safetensors", "optimizer.safetensors", "state.json", "config.json"] as const;
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
  return { file, op, forged: tensors && rand() < 0.5, detail };
}

/** Recompute state.json's checksum of the mutated tensor file (leaving state.json intact otherwise). */
async function forge(files: Record<FileName, Uint8Array>, file: FileName): Promise<void> {
  const state = JSON.parse(new TextDecoder().decode(files["state.json"]));
  state.sha256[file === "model.safetensors" ? "model" : "optimizer"] = await sha256Hex(files[file]);
  files["state.json"] = new TextEncoder().encode(JSON.stringify(state, null, 2) + "\n");
}

Deno.test(`checkpoint fuzz: ${CASES} damaged checkpoints load bitwise or fail with a clear error`, async () => {
  await init({ backend: "cpu" });
  const root = await Deno.makeTempDir();
  const config = resolveConfig([{ ...TINY_CONFIG, steps: 4, evalEvery: 2, checkpointEvery: 2, dropout: 0.1 }]);
  const first = await train({ config, runDir: `${root}/pristine` });
  first.model.dispose();
  first.optimizer.dispose();
  const original = Object.fromEntries(
    await Promise.all(FILES.map(async (f) => [f, await Deno.readFile(`${root}/pristine/checkpoint/${f}`)])),
  ) as Record<FileName, Uint8Array>;
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
      if (m.forged) await forge(files, m.file);
      const what = `case ${i} (NK_FUZZ_SEED=${SEED}): ${m.op} ${m.file} ${m.detail}${
        m.forged ? ", checksum forged" : ""
      }`;
      const runDir = `${root}/case`;
      await Deno.remove(runDir, { recursive: true }).catch(() => {});
      await Deno.mkdir(`${runDir}/checkpoint`, { recursive: true });
      for (const f of FILES) await Deno.writeFile(`${runDir}/checkpoint/${f}`, files[f]);
      await Deno.writeFile(`${runDir}/metrics.jsonl`, metrics);
      const r = await ask({ kind: "case", runDir }, what);
      if (r.kind === "loaded") {
        tally.loaded = (tally.loaded ?? 0) + 1;
        if (!r.equalsFile) failures.push(`${what}: loaded weights that differ from its model.safetensors`);
        if (!m.forged && !r.equalsPristine) failures.push(`${what}: loaded weights that differ from the original`);
      } else if (r.kind === "error") {
        const key = r.message.replace(/"[^"]*"/g, "…").replace(/\d+(\.\d+)?/g, "N").slice(0, 60);
        tally[key] = (tally[key] ?? 0) + 1;
        if (/safetensors: /.test(r.message)) parserErrors++;
        if (r.name !== "CheckpointError" || !/^Cannot (load checkpoint|resume)/.test(r.message)) {
          failures.push(`${what}: unclear ${r.name}: ${r.message}\n${r.stack}`);
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
