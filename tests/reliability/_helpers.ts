/**
 * Shared by the reliability tests: running a CLI command as a subprocess, the tiny config they train, records
 * without their wall-clock field, and a snapshot of a folder tree (names, sizes, mtimes) to prove nothing changed.
 * @module
 */
import { parseRecords } from "../../lib/metrics/records.ts";

/** The repository root, with a trailing slash. */
export const ROOT: string = new URL("../../", import.meta.url).pathname;

/** Flags of a model small enough to train in a second on the CPU. */
export const TINY_FLAGS: readonly string[] = [
  "--preset",
  "tiny",
  "--corpus=fixture",
  "--layers=1",
  "--dModel=32",
  "--dFF=64",
  "--contextLength=32",
  "--batchSize=4",
  "--warmup=2",
  "--evalTokens=512",
];

/** The same model as a config layer for `resolveConfig`. */
export const TINY_CONFIG: Readonly<Record<string, unknown>> = {
  preset: "tiny",
  corpus: "fixture",
  layers: 1,
  dModel: 32,
  dFF: 64,
  contextLength: 32,
  batchSize: 4,
  warmup: 2,
  evalTokens: 512,
};

/** What a finished command left. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Arguments of `deno run -A lib/cli/<script>.ts …`. */
export function cliArgs(script: string, args: readonly string[]): string[] {
  return ["run", "-A", `${ROOT}lib/cli/${script}.ts`, ...args];
}

/** Run `lib/cli/<script>.ts` to completion on the CPU backend. */
export async function cli(
  script: string,
  args: readonly string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: cliArgs(script, args),
    cwd: opts.cwd,
    env: { NK_BACKEND: "cpu", NO_COLOR: "1", ...opts.env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** metrics.jsonl records without `time`, the one field that differs between identical runs. */
export function recordsWithoutTime(text: string): Record<string, unknown>[] {
  return parseRecords(text).map((r) => {
    const { time: _time, ...rest } = r;
    return rest;
  });
}

/** Every path under `dir` (relative) with its kind, size and mtime, sorted: equal snapshots mean nothing changed. */
export async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    const path = rel ? `${dir}/${rel}` : dir;
    const info = await Deno.lstat(path);
    out.push(`${rel || "."} ${info.isDirectory ? "dir" : info.size} ${info.mtime?.getTime()}`);
    if (!info.isDirectory) return;
    for await (const e of Deno.readDir(path)) await walk(rel ? `${rel}/${e.name}` : e.name);
  };
  await walk("");
  return out.sort();
}

/** Whether `path` exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** mulberry32: a tiny seeded generator for choosing faults, independent of the library's own. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed from the environment variable `name` (to replay a failure), else `fallback`. */
export function seedFromEnv(name: string, fallback: number): number {
  const v = Deno.env.get(name);
  return v === undefined ? fallback : Number(v);
}

/** Assert `fn` rejects with an instance of `cls` whose message matches `pattern`; returns the error. */
export async function rejectsWith<E extends Error>(
  fn: () => Promise<unknown>,
  cls: new (...args: any[]) => E,
  pattern: RegExp,
): Promise<E> {
  try {
    await fn();
  } catch (e) {
    if (!(e instanceof cls)) throw new Error(`Expected a ${cls.name}, got ${e}`, { cause: e });
    if (!pattern.test(e.message)) throw new Error(`Expected a message matching ${pattern}, got "${e.message}"`);
    return e;
  }
  throw new Error(`Expected a ${cls.name} matching ${pattern}, but nothing was thrown`);
}
