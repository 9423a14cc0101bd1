/**
 * The paper's reported numbers that our analyses are compared against, as transcribed in NORMFORMER.md (c).
 * Values read off a figure are approximate (≈); they anchor trends, not targets for a small CPU model.
 * @module
 */

/** Fig. 3: fc2-weight gradient L1 ratio of layer 0 to layer 11 at step 600 (≈). */
export const PAPER_GRAD_RATIO: Readonly<Record<"preln" | "normformer", number>> = Object.freeze({
  preln: 4.3,
  normformer: 1.5,
});

/** Fig. 4: per-layer medians (layers 0–11) of the learned scales (≈). */
export const PAPER_SCALE_MEDIANS: Readonly<Record<"ffnNorm" | "postAttnNorm" | "headScale", readonly number[]>> = Object
  .freeze({
    ffnNorm: [0.22, 0.26, 0.26, 0.26, 0.34, 0.42, 0.46, 0.53, 0.62, 0.68, 0.8, 0.89],
    postAttnNorm: [0.14, 0.32, 0.34, 0.37, 0.37, 0.37, 0.32, 0.3, 0.26, 0.27, 0.27, 0.28],
    headScale: [1.02, 0.72, 0.84, 0.86, 0.73, 0.72, 0.81, 0.84, 0.96, 0.85, 1.08, 1.11],
  });

/** LR-stability table: updates before the loss explodes under lr = k·step (125M column). */
export const PAPER_EXPLOSION_STEP_125M: Readonly<Record<"baseline" | "normformer" | "normformerResid", number>> = Object
  .freeze({ baseline: 298, normformer: 313, normformerResid: 270 });

/** Abstract: NormFormer reaches the 1.3B baseline's perplexity with 24% less compute. */
export const PAPER_COMPUTE_SAVING = 0.24;

/** p.6: NormFormer-125M is 0.83 perplexity better than the baseline. */
export const PAPER_PPL_GAIN_125M = 0.83;

/**
 * The released 125M NormFormer run's schedule (NORMFORMER.md (d)): peak lr 3e-3, 750 warm-up updates, linear decay
 * to 0 at update 572,204. `sumLrOfSchedule` of it (≈ 858) says how far that run's optimiser could move the gains.
 */
export const PAPER_125M_SCHEDULE: Readonly<{ schedule: "linear"; lr: number; warmup: number; steps: number }> = Object
  .freeze({ schedule: "linear", lr: 3e-3, warmup: 750, steps: 572_204 });
