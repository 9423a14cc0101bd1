/**
 * One writer per run folder: `<runDir>/run.lock`, held with an exclusive OS file lock (`flock`) for as long as a
 * run writes there, and holding the holder's pid, host, start time and command so a refused second writer can
 * name it. The OS releases the lock when its holder exits, however it exits (a crash, SIGKILL), so a lock file
 * left behind by a dead run is stale by construction: the next run takes it over and reports whose it was (with
 * whether that pid still runs on this host). A live holder is never taken over, whatever its pid says.
 * @module
 */

/** The lock file's name inside a run folder. */
export const LOCK_FILE = "run.lock";

/** Who holds (or held) a run folder's lock, as its lock file says. */
export interface LockHolder {
  /** Process id. */
  pid: number;
  /** Host name. */
  host: string;
  /** When the holder took the lock (ISO 8601). */
  started: string;
  /** What the holder runs (e.g. "train"). */
  command: string;
}

/**
 * The run folder is locked by another writer. The message names the folder, the holder and the lock file. The CLI
 * treats it as bad input (exit code 2).
 */
export class RunLockError extends Error {
  /** "RunLockError". */
  override name = "RunLockError";
  /** The holder, when its lock file could be read. */
  constructor(message: string, readonly holder: LockHolder | null) {
    super(message);
  }
}

/** A held run-folder lock. */
export interface RunLock {
  /** The run folder. */
  readonly dir: string;
  /** A stale lock file this lock replaced (its holder had exited), or null. */
  readonly replaced: (LockHolder & { alive: boolean | null }) | null;
  /**
   * Remove the lock file and unlock; then remove the folders that taking the lock created (the run folder and any
   * parent that did not exist) when they are empty, so a run that failed before writing anything leaves nothing.
   */
  release(): Promise<void>;
  /** `release` for an exit path that cannot await (e.g. `Deno.exit` on a second Ctrl-C). */
  releaseSync(): void;
}

function describe(dir: string, h: LockHolder | null): string {
  const who = h ? `pid ${h.pid} on ${h.host} (${h.command}, since ${h.started})` : "another process";
  return `Run folder "${dir}" is in use by ${who}: one writer per run (lock file ${dir}/${LOCK_FILE})`;
}

function parseHolder(text: string): LockHolder | null {
  try {
    const v = JSON.parse(text);
    if (Number.isInteger(v?.pid) && typeof v.host === "string" && typeof v.started === "string") {
      return { pid: v.pid, host: v.host, started: v.started, command: String(v.command ?? "") };
    }
  } catch { /* torn or foreign content */ }
  return null;
}

function hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "unknown";
  }
}

/** Whether `pid` runs on this host: true, false, or null when that cannot be told. */
function pidAlive(pid: number): boolean | null {
  try {
    Deno.kill(pid, 0);
    return true;
  } catch (e) {
    return e instanceof Deno.errors.NotFound ? false : null;
  }
}

/** The folders `dir` and its missing ancestors, deepest first: what `mkdir -p dir` would create. */
async function missingFolders(dir: string): Promise<string[]> {
  const out: string[] = [];
  let d = dir.replace(/\/+$/, "") || "/";
  for (;;) {
    try {
      await Deno.stat(d);
      return out;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) return out;
    }
    out.push(d);
    const i = d.lastIndexOf("/");
    if (i <= 0) return out;
    d = d.slice(0, i);
  }
}

/**
 * Take the exclusive lock of run folder `dir` before writing anything there, creating the folder (and missing
 * parents) if needed. Throws a `RunLockError` naming the holder when another writer (another process, or another
 * run in this one) holds it; a file-system failure (an unwritable place) throws that error.
 * @example
 * ```ts
 * import { acquireRunLock, RunLockError } from "./run_lock.ts";
 * const dir = `${await Deno.makeTempDir()}/run`;
 * const lock = await acquireRunLock(dir, "example");
 * try {
 *   await acquireRunLock(dir, "example");
 * } catch (e) {
 *   console.log(e instanceof RunLockError); // true
 * }
 * await lock.release(); // removes run.lock, then the empty folder it created
 * ```
 */
export async function acquireRunLock(dir: string, command = "train"): Promise<RunLock> {
  const path = `${dir}/${LOCK_FILE}`;
  const created = await missingFolders(dir);
  await Deno.mkdir(dir, { recursive: true });
  try {
    return await lockFile(dir, path, command, created);
  } catch (e) {
    removeEmpty(created);
    throw e;
  }
}

/** Remove these folders, deepest first, while they are empty. */
function removeEmpty(folders: string[]): void {
  for (const d of folders) {
    try {
      Deno.removeSync(d);
    } catch {
      return;
    }
  }
}

async function lockFile(dir: string, path: string, command: string, created: string[]): Promise<RunLock> {
  for (let attempt = 0;; attempt++) {
    const file = await Deno.open(path, { read: true, write: true, create: true });
    try {
      let locked = await file.tryLock(true);
      // `runLockHolder` takes a shared lock for an instant: look twice more before calling the folder busy.
      for (let i = 0; i < 2 && !locked; i++) {
        await new Promise((r) => setTimeout(r, 25));
        locked = await file.tryLock(true);
      }
      if (!locked) {
        const holder = parseHolder(await Deno.readTextFile(path).catch(() => ""));
        throw new RunLockError(describe(dir, holder), holder);
      }
      // The holder before us may have removed the file between our open and our lock: lock the file at `path`.
      const [mine, there] = await Promise.all([file.stat(), Deno.stat(path).catch(() => null)]);
      if (!there || there.ino !== mine.ino || there.dev !== mine.dev) {
        if (attempt >= 20) throw new Error(`Cannot lock "${path}": it keeps being replaced`);
        file.close();
        continue;
      }
      const old = new Uint8Array(mine.size);
      let n = 0;
      while (n < old.length) {
        const r = await file.read(old.subarray(n));
        if (r === null) break;
        n += r;
      }
      const prior = n ? parseHolder(new TextDecoder().decode(old.subarray(0, n))) : null;
      const me: LockHolder = { pid: Deno.pid, host: hostname(), started: new Date().toISOString(), command };
      const bytes = new TextEncoder().encode(JSON.stringify(me) + "\n");
      await file.truncate(0);
      await file.seek(0, Deno.SeekMode.Start);
      let w = 0;
      while (w < bytes.length) w += await file.write(bytes.subarray(w));
      await file.sync();
      const replaced = prior ? { ...prior, alive: prior.host === me.host ? pidAlive(prior.pid) : null } : null;
      return makeLock(dir, path, file, created, replaced);
    } catch (e) {
      file.close();
      throw e;
    }
  }
}

function makeLock(
  dir: string,
  path: string,
  file: Deno.FsFile,
  created: string[],
  replaced: RunLock["replaced"],
): RunLock {
  let released = false;
  const releaseSync = () => {
    if (released) return;
    released = true;
    // Unlink while still locked, so a waiting writer that opened this file sees it replaced and retries.
    try {
      Deno.removeSync(path);
    } catch { /* already gone */ }
    file.close();
    removeEmpty(created);
  };
  return { dir, replaced, release: () => Promise.resolve(releaseSync()), releaseSync };
}

/**
 * Who holds `dir`'s lock now, without taking it or writing anything: the holder when the lock is held (its lock
 * file unreadable: a holder of pid 0), else null. For telling a run in progress from a damaged checkpoint.
 */
export async function runLockHolder(dir: string): Promise<LockHolder | null> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(`${dir}/${LOCK_FILE}`, { read: true });
  } catch {
    return null;
  }
  try {
    // A shared lock is refused only while an exclusive one is held; held for an instant, then dropped.
    if (await file.tryLock(false)) {
      await file.unlock();
      return null;
    }
    const text = new TextDecoder().decode(await Deno.readFile(`${dir}/${LOCK_FILE}`).catch(() => new Uint8Array()));
    return parseHolder(text) ?? { pid: 0, host: "unknown", started: "unknown", command: "unknown" };
  } finally {
    file.close();
  }
}

/** The `RunLockError` for a folder whose lock `holder` holds. */
export function runLockError(dir: string, holder: LockHolder): RunLockError {
  return new RunLockError(describe(dir, holder.pid ? holder : null), holder.pid ? holder : null);
}
