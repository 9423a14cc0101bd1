/**
 * `metrics.jsonl`: one JSON record per line, appended as a run goes. On resume the file is cut back to the lines
 * the checkpoint accounts for, so a resumed run's file equals an uninterrupted run's.
 * @module
 */
import { dirname, writeFileAtomic } from "./atomic.ts";
import { CheckpointError } from "./checkpoint_state.ts";

/** An append-only JSONL file. */
export class MetricsLog {
  #file: Deno.FsFile;
  #lines: number;
  private constructor(file: Deno.FsFile, lines: number) {
    this.#file = file;
    this.#lines = lines;
  }

  /**
   * Open `path`, keeping only its first `keepLines` lines (all of a fresh run's file is dropped: keepLines 0), and
   * remove temporary files that a crash during an earlier open left beside it.
   */
  static async open(path: string, keepLines: number): Promise<MetricsLog> {
    await removeStaleTemps(path);
    let text = "";
    try {
      text = await Deno.readTextFile(path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    const kept = text.split("\n").filter((l) => l.length).slice(0, keepLines);
    if (kept.length < keepLines) {
      throw new CheckpointError(
        `Cannot resume metrics: ${path} has ${kept.length} lines, the checkpoint expects ${keepLines}`,
      );
    }
    await writeFileAtomic(path, new TextEncoder().encode(kept.map((l) => l + "\n").join("")));
    const file = await Deno.open(path, { append: true });
    return new MetricsLog(file, keepLines);
  }

  /** Append one record; returns the line count. */
  async append(record: unknown): Promise<number> {
    const bytes = new TextEncoder().encode(JSON.stringify(record) + "\n");
    let n = 0;
    while (n < bytes.length) n += await this.#file.write(bytes.subarray(n));
    return ++this.#lines;
  }

  /** Flush the appended lines to disk (before a checkpoint that counts them is written). */
  async sync(): Promise<void> {
    await this.#file.sync();
  }

  /** Close the file. */
  close(): void {
    this.#file.close();
  }
}

/** Remove `<path>.<16 hex digits>.tmp` files, which only an interrupted `writeFileAtomic` leaves. */
async function removeStaleTemps(path: string): Promise<void> {
  const dir = dirname(path);
  const base = path.slice(Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\")) + 1);
  const isStale = (name: string) =>
    name.startsWith(`${base}.`) && /^\.[0-9a-f]{16}\.tmp$/.test(name.slice(base.length));
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && isStale(e.name)) await Deno.remove(`${dir}/${e.name}`).catch(() => {});
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}
