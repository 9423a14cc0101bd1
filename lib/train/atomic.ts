/**
 * Crash-safe file replacement for checkpoints and run records: a reader sees either the old file or the whole new
 * one, never a torn write.
 * @module
 */

/** The folder part of `path` ("." when there is none). */
export function dirname(path: string): string {
  const i = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  if (i < 0) return ".";
  return i === 0 ? path.slice(0, 1) : path.slice(0, i);
}

/**
 * Writes `bytes` to `path` atomically: writes a temporary file in the same directory, flushes it to disk, renames
 * it over `path`, then flushes the directory entry where the platform allows it (POSIX; skipped on Windows, where
 * a directory cannot be opened). On any failure the temporary file is removed and `path` is untouched.
 * @example
 * ```ts
 * import { writeFileAtomic } from "./atomic.ts";
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(`${dir}/state.json`, new TextEncoder().encode('{"step":1}'));
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const dir = dirname(path);
  const suffix = crypto.getRandomValues(new Uint32Array(2)).reduce((s, v) => s + v.toString(16).padStart(8, "0"), "");
  const tmp = `${path}.${suffix}.tmp`;
  let file: Deno.FsFile | undefined;
  try {
    file = await Deno.open(tmp, { write: true, createNew: true });
    let written = 0;
    while (written < bytes.length) written += await file.write(bytes.subarray(written));
    await file.sync();
    file.close();
    file = undefined;
    await Deno.rename(tmp, path);
  } catch (e) {
    try {
      file?.close();
    } catch { /* already closed */ }
    await Deno.remove(tmp).catch(() => {});
    throw new Error(`Cannot write ${path} atomically: ${(e as Error).message}`, { cause: e });
  }
  await syncDir(dir);
}

/**
 * Flushes a directory's entries (renames, creations, removals) to disk, so they survive a power loss, where the
 * platform allows it: POSIX only (Windows cannot open a directory), and some filesystems refuse fsync on a
 * directory, in which case this does nothing (the renames themselves are still atomic).
 * @example
 * ```ts
 * import { syncDir } from "./atomic.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/a.tmp`, "x");
 * await Deno.rename(`${dir}/a.tmp`, `${dir}/a`);
 * await syncDir(dir);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function syncDir(dir: string): Promise<void> {
  if (Deno.build.os === "windows") return;
  try {
    const d = await Deno.open(dir, { read: true });
    try {
      await d.sync();
    } finally {
      d.close();
    }
  } catch {
    // Some filesystems refuse fsync on a directory; the rename itself is still atomic.
  }
}
