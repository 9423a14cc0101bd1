/**
 * Learning-rate schedules, as pure functions of the update index.
 *
 * **Step numbering.** `t` is the 1-based index of the update about to be made: `lrAt(1, cfg)` is the rate of the
 * first optimizer step, `lrAt(cfg.steps, cfg)` of the last; `lrAt(0, cfg)` is defined (the value before any
 * update) for plots. The formulas are fairseq's `polynomial_decay` (power 1) evaluated at `num_updates = t`.
 * fairseq itself applies the value computed after update t to update t + 1 (its first two updates both run at
 * lr/warmup); we apply it to update t, which shifts the curve one update earlier and ends the warm-up exactly
 * at update `warmup`. NORMFORMER.md (d), (e).
 *
 * - `"linear"`: lr·t/W for t ≤ W, then linear decay to `endLr` at t = `steps`, and `endLr` after.
 * - `"cosine"`: the same warm-up, then endLr + (lr − endLr)·½(1 + cos(π·(t − W)/(steps − W))).
 * - `"constant"`: the same warm-up, then lr for ever (W may exceed `steps`: the run ends inside the warm-up).
 * - `"ramp"`: the paper's LR-stability test (c.3), lr_t = rampK·t with no cap and no decay; `lr`, `warmup` and
 *   `endLr` are ignored.
 * @module
 */

/** Schedule shapes. */
export type ScheduleName = "linear" | "cosine" | "constant" | "ramp";

/** The schedule fields of a training config (a `TrainConfig` can be passed as is). */
export interface ScheduleConfig {
  /** Schedule shape. */
  schedule: ScheduleName;
  /** Peak learning rate (after warm-up). */
  lr: number;
  /** Warm-up updates W (linear from 0 to `lr`). */
  warmup: number;
  /** Total updates of the run; "linear" and "cosine" reach `endLr` there. */
  steps: number;
  /** Final learning rate of "linear" and "cosine" (default 0). */
  endLr?: number;
  /** Increment per update of "ramp". */
  rampK?: number;
}

/** The schedule names, for config checks. */
export const SCHEDULES: readonly ScheduleName[] = ["linear", "cosine", "constant", "ramp"];

function fail(key: string, value: unknown, expected: string): never {
  throw new Error(`Invalid ${key} ${JSON.stringify(value)}: expected ${expected}`);
}

/**
 * Throw unless the schedule is well formed, naming the offending field and value.
 * @example
 * ```ts
 * import { checkSchedule } from "./schedule.ts";
 * checkSchedule({ schedule: "linear", lr: 1e-3, warmup: 750, steps: 3000 }); // ok
 * try {
 *   checkSchedule({ schedule: "linear", lr: 1e-3, warmup: 750, steps: 600 });
 * } catch (e) {
 *   console.log((e as Error).message); // Invalid warmup 750: expected at most steps (600) for a "linear" schedule
 * }
 * ```
 */
export function checkSchedule(cfg: ScheduleConfig): void {
  const { schedule, lr, warmup, steps, endLr = 0, rampK } = cfg;
  if (!SCHEDULES.includes(schedule)) fail("schedule", schedule, `one of ${SCHEDULES.map((s) => `"${s}"`).join(", ")}`);
  if (schedule === "ramp") {
    if (typeof rampK !== "number" || !(rampK > 0 && Number.isFinite(rampK))) {
      fail("rampK", rampK, 'a finite number > 0 for a "ramp" schedule');
    }
    return;
  }
  if (typeof lr !== "number" || !(lr > 0 && Number.isFinite(lr))) fail("lr", lr, "a finite number > 0");
  if (!Number.isInteger(warmup) || warmup < 0) fail("warmup", warmup, "an integer ≥ 0");
  if (schedule === "constant") return;
  if (!Number.isInteger(steps) || steps < 1) fail("steps", steps, "an integer ≥ 1");
  if (warmup > steps) fail("warmup", warmup, `at most steps (${steps}) for a "${schedule}" schedule`);
  if (typeof endLr !== "number" || !(endLr >= 0 && endLr <= lr)) fail("endLr", endLr, `0 ≤ endLr ≤ lr (${lr})`);
}

/**
 * The learning rate of update `t` (1-based; see the module doc). Checks `cfg` and `t` first.
 * @example
 * ```ts
 * import { lrAt } from "./schedule.ts";
 * const cfg = { schedule: "linear" as const, lr: 1e-3, warmup: 10, steps: 110 };
 * console.log(lrAt(5, cfg)); // 0.0005 (half-way through the warm-up)
 * console.log(lrAt(10, cfg)); // 0.001 (peak)
 * console.log(lrAt(60, cfg)); // 0.0005 (half-way through the decay)
 * console.log(lrAt(110, cfg)); // 0 (endLr)
 * console.log(lrAt(3, { schedule: "ramp", lr: 0, warmup: 0, steps: 1, rampK: 5e-5 })); // ≈ 0.00015
 * ```
 */
export function lrAt(t: number, cfg: ScheduleConfig): number {
  checkSchedule(cfg);
  if (!Number.isInteger(t) || t < 0) fail("step", t, "an integer ≥ 0");
  const { schedule, lr, warmup, steps, endLr = 0 } = cfg;
  if (schedule === "ramp") return cfg.rampK! * t;
  if (warmup > 0 && t <= warmup) return (t / warmup) * lr; // fairseq's order of operations, bit for bit
  if (schedule === "constant") return lr;
  if (t >= steps) return endLr;
  const frac = (t - warmup) / (steps - warmup); // in [0, 1)
  if (schedule === "linear") return (lr - endLr) * (1 - frac) + endLr;
  return endLr + (lr - endLr) * 0.5 * (1 + Math.cos(Math.PI * frac));
}
