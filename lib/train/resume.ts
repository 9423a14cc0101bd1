/**
 * What `--resume` means: the run continues with **its own saved config** (checkpoint/config.json). Only the keys in
 * `RESUMABLE_KEYS` may be changed when resuming, because they change neither the model nor the updates already
 * made nor how the next ones are computed (except `steps`, whose schedule consequence is spelled out); each
 * change is recorded in `<runDir>/config-history.jsonl`. Any other key is refused.
 * @module
 */
import { lrAt } from "../optim/schedule.ts";
import { CONFIG_KEYS, ConfigError, resolveConfig, type TrainConfig } from "./config.ts";

/**
 * The config keys a resumed run may change: how long it runs (`steps`, at least the step it resumes from), how
 * often it evaluates, logs and saves, whether it skips non-finite updates, where it runs (backend, provider) and
 * where its folder is (out, name).
 */
export const RESUMABLE_KEYS: readonly string[] = Object.freeze([
  "steps",
  "evalEvery",
  "logEvery",
  "checkpointEvery",
  "skipNonFinite",
  "backend",
  "provider",
  "out",
  "name",
]);

/** One config key changed on resume. */
export interface ConfigChange {
  /** The key. */
  key: string;
  /** The value the run was trained with. */
  from: unknown;
  /** The value it continues with. */
  to: unknown;
}

/** A line of `config-history.jsonl`: the changes one resume made, and where the run stood. */
export interface ConfigHistoryEntry {
  /** When (ISO 8601). */
  date: string;
  /** The step the run resumed from. */
  step: number;
  /** Training tokens at that step. */
  tokens: number;
  /** What changed. */
  changes: ConfigChange[];
}

/** The config history's file name in a run folder. */
export const CONFIG_HISTORY_FILE = "config-history.jsonl";

/** Every key whose value differs between `saved` and `next`. */
export function configChanges(saved: TrainConfig, next: TrainConfig): ConfigChange[] {
  const a = saved as unknown as Record<string, unknown>, b = next as unknown as Record<string, unknown>;
  return CONFIG_KEYS.filter((k) => a[k] !== b[k]).map((key) => ({ key, from: a[key], to: b[key] }));
}

/**
 * Check that `changes` touch only `RESUMABLE_KEYS` and that `steps` does not go below `step`; throws
 * `fail(message)` for the first that does not ("cannot change lr when resuming (run was trained with 0.003)").
 */
export function checkResumeChanges(
  changes: ConfigChange[],
  step: number,
  fail: (msg: string) => Error = (m) => new ConfigError(m),
): void {
  for (const c of changes) {
    if (!RESUMABLE_KEYS.includes(c.key)) {
      throw fail(
        `Cannot change ${c.key} when resuming (run was trained with ${JSON.stringify(c.from)}, asked for ${
          JSON.stringify(c.to)
        }): only ${RESUMABLE_KEYS.join(", ")} may change; start a new run (--name) to change it`,
      );
    }
    if (c.key === "steps" && (c.to as number) < step) {
      throw fail(`Cannot set steps to ${c.to} when resuming: the run is already at step ${step}`);
    }
  }
}

/**
 * The config a resumed run continues with: its saved config with `layers` (a JSON file's keys, flags) laid over
 * it, and the changes that makes. A layer's `preset` counts as a key like any other (it is not expanded). Throws
 * a `ConfigError` for a bad value, or a change `checkResumeChanges` refuses.
 * @example
 * ```ts
 * import { resumeConfig } from "./resume.ts";
 * import { resolveConfig } from "./config.ts";
 * const saved = resolveConfig([{ steps: 25, lr: 3e-3, warmup: 5 }]);
 * const { config, changes } = resumeConfig(saved, [{ steps: "200" }], 25);
 * console.log(config.steps, config.lr, changes); // 200 0.003 [ { key: "steps", from: 25, to: 200 } ]
 * try {
 *   resumeConfig(saved, [{ lr: "3e-4" }], 25);
 * } catch (e) {
 *   console.log((e as Error).message); // Cannot change lr when resuming (run was trained with 0.003, asked for 0.0003): …
 * }
 * ```
 */
export function resumeConfig(
  saved: TrainConfig,
  layers: ReadonlyArray<Record<string, unknown>>,
  step: number,
): { config: TrainConfig; changes: ConfigChange[] } {
  const config = resolveConfig([saved as unknown as Record<string, unknown>, ...layers]);
  const changes = configChanges(saved, config);
  checkResumeChanges(changes, step);
  return { config, changes };
}

/**
 * A change in words, with what it does to the learning rate when it is `steps` and the schedule decays to the
 * last step: "steps 25 → 200 (the linear schedule now ends at step 200: lr 0.00089 at step 26)".
 */
export function describeChange(c: ConfigChange, config: TrainConfig, step: number): string {
  let text = `${c.key} ${JSON.stringify(c.from)} → ${JSON.stringify(c.to)}`;
  if (c.key === "steps" && (config.schedule === "linear" || config.schedule === "cosine") && step < config.steps) {
    const next = lrAt(step + 1, config);
    text += ` (the ${config.schedule} schedule now ends at step ${config.steps}: lr ${next.toPrecision(3)} at step ${
      step + 1
    })`;
  }
  return text;
}
