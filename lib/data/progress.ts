/**
 * The progress events data-layer functions report. Library code never prints; a caller that wants output passes
 * an `onProgress` callback (the `deno task data` script prints each message).
 * @module
 */

/** What a data-layer function is doing when it reports. */
export type DataStage = "resolve" | "read" | "split" | "write" | "verify" | "encode";

/** One progress report. */
export interface DataProgress {
  /** The step under way. */
  stage: DataStage;
  /** A one-line human-readable description. */
  message: string;
  /** Items (files, splits) finished so far in this step, when countable. */
  done?: number;
  /** Items in this step, when countable. */
  total?: number;
}

/** A callback that receives progress reports. */
export type OnDataProgress = (event: DataProgress) => void;
