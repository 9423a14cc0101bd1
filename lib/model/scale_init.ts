/**
 * Set NormFormer's learned scales to given per-layer values instead of their init of 1: each layer's FFN-LN gain
 * vector, post-attention-LN gain vector and HeadScale γ is filled with that layer's value. A mechanism
 * demonstration (NORMFORMER.md (c.1)): with the paper's Fig. 4 medians (`PAPER_SCALE_MEDIANS`) a short CPU run
 * shows what the gains do to the per-layer gradients, without the ~1000× longer training that learns them.
 * @module
 */
import type { NormFormerLM } from "./normformer.ts";
import { PAPER_SCALE_MEDIANS } from "../metrics/paper.ts";

/** Per-layer values (length L) of each scale to set; a missing key keeps its init. */
export interface ScaleValues {
  /** LN_ffn gain (`ffn_layernorm.weight`), one value per layer. */
  ffnNorm?: readonly number[];
  /** LN_pa gain (`attn_ln.weight`), one value per layer. */
  postAttnNorm?: readonly number[];
  /** HeadScale γ (`c_attn`), one value per layer. */
  headScale?: readonly number[];
}

const KEYS = ["ffnNorm", "postAttnNorm", "headScale"] as const;

/**
 * The values named by the `initScales` config key: "paper" (Fig. 4 medians, 12 layers) or a JSON file holding a
 * `ScaleValues` object.
 */
export async function readScaleValues(spec: string): Promise<ScaleValues> {
  if (spec === "paper") return PAPER_SCALE_MEDIANS;
  let parsed: unknown;
  try {
    parsed = JSON.parse(await Deno.readTextFile(spec));
  } catch (e) {
    throw new Error(`Cannot read initScales "${spec}": ${(e as Error).message} (expected "paper" or a JSON file)`);
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new Error(`Cannot use initScales "${spec}": expected an object with ffnNorm, postAttnNorm or headScale`);
  }
  const extra = Object.keys(parsed).filter((k) => !(KEYS as readonly string[]).includes(k));
  if (extra.length) {
    throw new Error(`Cannot use initScales "${spec}": unknown key "${extra[0]}" (expected ${KEYS.join(", ")})`);
  }
  return parsed as ScaleValues;
}

/** Fill each layer's scales with `values`; a wrong length, a non-finite value or a scale the model lacks throws. */
export function setLearnedScales(model: NormFormerLM, values: ScaleValues): void {
  const L = model.layers.length;
  for (const key of KEYS) {
    const v = values[key];
    if (v === undefined) continue;
    if (!Array.isArray(v) || v.length !== L || !v.every((x) => typeof x === "number" && Number.isFinite(x))) {
      throw new Error(`Cannot set ${key} scales to ${JSON.stringify(v)}: expected ${L} finite numbers (one per layer)`);
    }
    model.layers.forEach((layer, i) => {
      const p = key === "ffnNorm"
        ? layer.ffnLayernorm?.weight
        : key === "postAttnNorm"
        ? layer.attnLn?.weight
        : layer.cAttn;
      if (!p) throw new Error(`Cannot set ${key} scales: the model has no ${key} (turn it on in the config)`);
      p.backend.write(p.buffer, new Float32Array(p.size).fill(v[i]));
    });
  }
}
