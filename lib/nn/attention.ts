/**
 * fairseq's causal multi-head self-attention, with NormFormer's HeadScale in either placement
 * (NORMFORMER.md a.2, a.3). Legend: B batch, T time, C width, H heads, Dh = C/H.
 * @module
 */
import type { Tensor } from "../core/tensor.ts";
import { full } from "../core/create.ts";
import { causalSoftmax, dropout } from "../core/ops_nn.ts";
import { max } from "../core/ops_reduce.ts";
import { abs } from "../core/ops_elementwise.ts";
import { noGrad } from "../core/runtime.ts";
import { Linear, Module } from "./module.ts";

/** Options of the attention block. */
export interface AttentionOptions {
  /** Dropout on attention probabilities. */
  attentionDropout: number;
  /** HeadScale placement; null when HeadScale is off. */
  headScale: "preOutProj" | "postOutProj" | null;
}

/** Causal MHA; `cAttn` (H) is HeadScale's γ, registered by the owning layer as fairseq's `c_attn`. */
export class CausalSelfAttention extends Module {
  /** Query projection (`q_proj`), C → C. */
  readonly qProj: Linear;
  /** Key projection (`k_proj`), C → C. */
  readonly kProj: Linear;
  /** Value projection (`v_proj`), C → C. */
  readonly vProj: Linear;
  /** Output projection (`out_proj`), C → C. */
  readonly outProj: Linear;
  /** Dh = C / H. */
  readonly headDim: number;

  /** Build the four projections with fairseq's inits for width `dModel` and `heads` heads. */
  constructor(readonly dModel: number, readonly heads: number, readonly opts: AttentionOptions) {
    super();
    this.headDim = dModel / heads;
    // Xavier-uniform with gain 1/√2 for q, k, v; PyTorch's default bias; Xavier gain 1 and zero bias for out.
    const qkv = { weightBound: Math.sqrt(3 / (2 * dModel)), biasBound: 1 / Math.sqrt(dModel) };
    this.kProj = this.addChild("k_proj", new Linear(dModel, dModel, qkv));
    this.vProj = this.addChild("v_proj", new Linear(dModel, dModel, qkv));
    this.qProj = this.addChild("q_proj", new Linear(dModel, dModel, qkv));
    this.outProj = this.addChild(
      "out_proj",
      new Linear(dModel, dModel, { weightBound: Math.sqrt(3 / dModel), biasBound: 0 }),
    );
  }

  /**
   * x (B, T, C) → (B, T, C). `gamma` (H) is HeadScale's γ when on. `onLogits` receives max |q·k/√Dh|
   * (a scalar tensor) for the fp16-overflow analysis of the LR-stability test.
   */
  forward(x: Tensor, gamma: Tensor | null, onLogits?: (maxAbs: Tensor) => void): Tensor {
    const [b, t, c] = x.shape;
    const { heads: h, headDim: dh } = this;
    const split = (y: Tensor) => y.reshape([b, t, h, dh]).permute([0, 2, 1, 3]); // (B, H, T, Dh)
    const q = split(this.qProj.forward(x).mul(dh ** -0.5));
    const k = split(this.kProj.forward(x));
    const v = split(this.vProj.forward(x));
    const scores = q.matmul(k, { transB: true }); // (B, H, T, T)
    if (onLogits) onLogits(noGrad(() => max(abs(scores))));
    const probs = dropout(causalSoftmax(scores), this.opts.attentionDropout, this.training);
    let o = probs.matmul(v); // (B, H, T, Dh)
    if (gamma && this.opts.headScale === "preOutProj") o = o.mul(gamma.reshape([1, h, 1, 1]));
    let out = this.outProj.forward(o.permute([0, 2, 1, 3]).reshape([b, t, c])); // (B, T, C)
    if (gamma && this.opts.headScale === "postOutProj") {
      out = out.reshape([b, t, h, dh]).mul(gamma.reshape([h, 1])).reshape([b, t, c]);
    }
    return out;
  }
}

/** HeadScale's γ: H ones. */
export function headScaleInit(heads: number): Tensor {
  return full([heads], 1);
}
