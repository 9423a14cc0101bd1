/**
 * `metrics.jsonl`: one JSON record per line, appended as a run goes. On resume the file is cut back to the lines
 * the checkpoint accounts for, so a resumed run's file equals an uninterrupted run's.
 * @module
 */
import { writeFileAtomic } from "./atomic.ts";

/** An append-only JSONL file. */
export class MetricsLog {
  #file: Deno.FsFile;
  #lines: number;
  private constructor(file: Deno.FsFile, lines: number) {
    this.#file = file;
    this.#lines = lines;
  }

  /** Open `path`, keeping only its first `keepLines` lines (all of a fresh run's file is dropped: keepLines 0). */
  static async open(path: string, keepLines: number): Promise<MetricsLog> {
    let text = "";
    try {
      text = await Deno.readTextFile(path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    const kept = text.split("\n").filter((l) => l.length).slice(0, keepLines);
    if (kept.length < keepLines) {
      throw new Error(`Cannot resume metrics: ${path} has ${kept.length} lines, the checkpoint expects ${keepLines}`);
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

  /** Close the file. */
  close(): void {
    this.#file.close();
  }
}
