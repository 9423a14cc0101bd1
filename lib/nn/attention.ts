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
import { expand } from "../core/ops_shape.ts";
import { Linear, linear, Module } from "./module.ts";

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
    // Activations no backward rule reads are freed once the next op has them (their autograd nodes stay): the
    // projections before the head split, the scores once softmaxed, the heads' output before it is merged.
    const split = (y: Tensor) => { // (B, T, C) → (B, H, T, Dh)
      const heads = y.reshape([b, t, h, dh]);
      const out = heads.permute([0, 2, 1, 3]);
      heads.dispose();
      y.dispose();
      return out;
    };
    // fairseq scales q = (x Wqᵀ + bq)·Dh^-½; scaling Wq and bq instead is the same product with a (C, C) pass in
    // place of a (B, T, C) one.
    const s = dh ** -0.5;
    const q = split(linear(x, this.qProj.weight.mul(s), this.qProj.bias.mul(s)));
    const k = split(this.kProj.forward(x));
    const v = split(this.vProj.forward(x));
    const scores = q.matmul(k, { transB: true }); // (B, H, T, T)
    if (onLogits) onLogits(noGrad(() => max(abs(scores))));
    const attn = causalSoftmax(scores); // its rule reads attn, not the scores
    scores.dispose();
    const probs = dropout(attn, this.opts.attentionDropout, this.training);
    const heads = probs.matmul(v); // (B, H, T, Dh)
    const o = heads.permute([0, 2, 1, 3]).reshape([b, t, c]); // (B, T, C), feature h·Dh + d
    heads.dispose();
    const placement = gamma ? this.opts.headScale : null;
    if (!placement) return this.outProj.forward(o);
    // HeadScale multiplies head h's features by γ_h: before out_proj its input features (columns of W), after it
    // its output features (rows of W and the bias). Folded into the (C, C) weight, not the (B, T, C) activations.
    const g = expand(gamma!.reshape([h, 1]), [h, dh]).reshape([c]); // γ per feature (C)
    const { weight: w, bias } = this.outProj;
    return placement === "preOutProj" ? linear(o, w.mul(g), bias) : linear(o, w.mul(g.reshape([c, 1])), bias.mul(g));
  }
}

/** HeadScale's γ: H ones. */
export function headScaleInit(heads: number): Tensor {
  return full([heads], 1);
}
