/**
 * The NormFormer family of decoder-only causal LMs: Post-LN, Pre-LN, and Pre-LN with NormFormer's switchable
 * operations (post-attention LN, HeadScale, FFN LN, residual scaling), following fairseq's
 * `TransformerDecoderLayerBase` and NORMFORMER.md (a), (b). Reads top to bottom.
 * Legend: B batch, T time, C = dModel, H heads, Dh = C/H, F = dFF, L layers, V vocabulary.
 * @module
 */
import type { Tensor } from "../core/tensor.ts";
import { full, tensor, zeros } from "../core/create.ts";
import { crossEntropy, dropout, embedding } from "../core/ops_nn.ts";
import { gelu, reluSquared } from "../core/ops_elementwise.ts";
import { fmtShape } from "../core/tensor.ts";
import { keep, noGrad } from "../core/runtime.ts";
import { LayerNorm, Linear, Module, normalTable } from "../nn/module.ts";
import { CausalSelfAttention, headScaleInit } from "../nn/attention.ts";
import { type ModelConfig, resolveModelConfig } from "./config.ts";
import { sinusoidalPositions } from "./positions.ts";

/** Per-forward observations for analyses; filled only when passed. */
export interface ForwardStats {
  /** Max |q·k/√Dh| per layer (scalar tensors), for the fp16-overflow check of the LR ramp (NORMFORMER.md c.3). */
  attnLogitMax: Tensor[];
  /** Per-layer activation RMS and fc2-output gradient probes, for decomposing the fc2 gradient ratio. */
  activations?: ActivationProbes;
}

/**
 * What each layer adds when activation stats are asked for (one entry per layer, in order). The fc2 weight
 * gradient is (fc2 input)ᵀ · (gradient at fc2's output), so its size across layers factors into these two RMS
 * ratios times an alignment remainder.
 */
export interface ActivationProbes {
  /** RMS of fc2's input u (B, T, F): after the activation, and after LN_ffn when it is on (scalar tensors). */
  fc2In: Tensor[];
  /** RMS of what the attention sublayer adds to the residual stream (after HeadScale and LN_pa; scalars). */
  attnOut: Tensor[];
  /** RMS of the residual stream leaving the layer (scalars). */
  stream: Tensor[];
  /** Zero tensors (B, T, C) added to fc2's output; after `backward()` their `.grad` is ∂loss/∂(fc2 output). */
  fc2OutGrad: Tensor[];
}

/** One decoder layer; the sublayer order is fairseq's (attention → out-proj → HeadScale → post-attn LN → dropout). */
export class DecoderLayer extends Module {
  /** Causal multi-head attention (`self_attn`). */
  readonly selfAttn: CausalSelfAttention;
  /** LN_a (`self_attn_layer_norm`): before attention in Pre-LN, after the residual add in Post-LN. */
  readonly selfAttnLayerNorm: LayerNorm;
  /** LN_pa (`attn_ln`), postAttnNorm; null when off. */
  readonly attnLn: LayerNorm | null = null;
  /** HeadScale γ (H) (`c_attn`); null when off. */
  readonly cAttn: Tensor | null = null;
  /** FFN input projection C → F. */
  readonly fc1: Linear;
  /** FFN output projection F → C. */
  readonly fc2: Linear;
  /** LN_ffn (`ffn_layernorm`, width F), ffnNorm; null when off. */
  readonly ffnLayernorm: LayerNorm | null = null;
  /** LN_f (`final_layer_norm`): the FFN's pre-norm in Pre-LN, after the residual add in Post-LN. */
  readonly finalLayerNorm: LayerNorm;
  /** ResScale λ (C) (`w_resid`) on the FFN skip path; null when off. */
  readonly wResid: Tensor | null = null;

  /** Build the layer's parameters for `cfg` (resolved), under fairseq's names. */
  constructor(readonly cfg: ModelConfig) {
    super();
    const { dModel: c, dFF: f, heads: h } = cfg;
    const placement = cfg.headScale ? cfg.headScalePlacement : null;
    this.selfAttn = this.addChild(
      "self_attn",
      new CausalSelfAttention(c, h, { attentionDropout: cfg.attentionDropout, headScale: placement }),
    );
    this.selfAttnLayerNorm = this.addChild("self_attn_layer_norm", new LayerNorm(c));
    if (cfg.postAttnNorm) this.attnLn = this.addChild("attn_ln", new LayerNorm(c));
    if (cfg.headScale) this.cAttn = this.addParam("c_attn", headScaleInit(h));
    this.fc1 = this.addChild("fc1", new Linear(c, f));
    this.fc2 = this.addChild("fc2", new Linear(f, c));
    if (cfg.ffnNorm) this.ffnLayernorm = this.addChild("ffn_layernorm", new LayerNorm(f));
    this.finalLayerNorm = this.addChild("final_layer_norm", new LayerNorm(c));
    if (cfg.residScale) this.wResid = this.addParam("w_resid", full([c], 1));
  }

  /** x (B, T, C) → (B, T, C). */
  forward(x: Tensor, stats?: ForwardStats): Tensor {
    const { cfg, training } = this;
    const onLogits = stats && ((m: Tensor) => stats.attnLogitMax.push(m));
    // residual + dropout(y): no backward rule reads a sublayer's output (or its dropped copy) once it is added to
    // the stream, so both are freed here rather than when the pass ends.
    const addSublayer = (residual: Tensor, y: Tensor) => {
      const dropped = dropout(y, cfg.dropout, training);
      const sum = residual.add(dropped);
      dropped.dispose();
      y.dispose();
      return sum;
    };
    const act = cfg.activation === "gelu" ? gelu : reluSquared;
    const postLN = cfg.arch === "postln";
    // Attention sublayer.
    let residual = x;
    let a = this.selfAttn.forward(postLN ? x : this.selfAttnLayerNorm.forward(x), this.cAttn, onLogits);
    if (this.attnLn) a = this.attnLn.forward(a);
    const probes = stats?.activations;
    if (probes) probes.attnOut.push(rms(a));
    x = addSublayer(residual, a);
    if (postLN) x = this.selfAttnLayerNorm.forward(x);
    // FFN sublayer.
    residual = x;
    let u = dropFreeing(
      act(this.fc1.forward(postLN ? x : this.finalLayerNorm.forward(x))),
      cfg.activationDropout,
      training,
    ); // (B, T, F)
    if (this.ffnLayernorm) u = this.ffnLayernorm.forward(u);
    let y = this.fc2.forward(u); // (B, T, C)
    if (probes) {
      probes.fc2In.push(rms(u));
      const probe = zeros(y.shape, { requiresGrad: true });
      probes.fc2OutGrad.push(probe);
      y = y.add(probe);
    }
    if (this.wResid) residual = residual.mul(this.wResid); // ResScale touches only the FFN skip path
    x = addSublayer(residual, y);
    if (postLN) x = this.finalLayerNorm.forward(x);
    if (probes) probes.stream.push(rms(x));
    return x;
  }
}

/**
 * dropout(x), freeing x when dropout made a copy: only for an x that no backward rule reads (the GELU or
 * relu² output, the embedding sum), so a pass keeps one of the two.
 */
function dropFreeing(x: Tensor, p: number, training: boolean): Tensor {
  const y = dropout(x, p, training);
  if (y !== x) x.dispose();
  return y;
}

/** Root mean square of every element, as a scalar tensor outside the autograd graph. */
export function rms(x: Tensor): Tensor {
  return noGrad(() => x.mul(x).mean().sqrt());
}

/**
 * A NormFormer-family causal LM with tied input/output embeddings.
 * @example
 * ```ts
 * import * as nk from "../../mod.ts";
 * await nk.init({ backend: "cpu", seed: 1 });
 * const model = new nk.NormFormerLM({ arch: "normformer", vocabSize: 256, dModel: 16, heads: 2, dFF: 32, layers: 2 });
 * const ids = nk.tensor([[1, 2, 3, 4]], { dtype: "i32" });
 * const loss = model.loss(ids, nk.tensor([[2, 3, 4, 5]], { dtype: "i32" }));
 * console.log(await loss.item() > 0); // true
 * ```
 */
export class NormFormerLM extends Module {
  /** The resolved configuration. */
  readonly cfg: ModelConfig;
  /** Token embedding E (V, C), tied to the output projection. */
  readonly embedTokens: Tensor;
  /** Learned positions (T, C); null with fairseq's sinusoids (the default). */
  readonly embedPositions: Tensor | null = null;
  /** The L decoder layers. */
  readonly layers: DecoderLayer[] = [];
  /** Final LayerNorm (Pre-LN variants); null for Post-LN. */
  readonly layerNorm: LayerNorm | null = null;
  #sinusoids: Tensor | null = null;

  /** Build a model from a partial config (defaults filled and checked by `resolveModelConfig`). */
  constructor(config: Partial<ModelConfig>) {
    super();
    const cfg = this.cfg = resolveModelConfig(config);
    const decoder = this.addChild("decoder", new Module());
    this.embedTokens = decoder.addParam(
      "embed_tokens.weight",
      normalTable(cfg.vocabSize, cfg.dModel, cfg.dModel ** -0.5),
    );
    if (cfg.positions === "learned") {
      this.embedPositions = decoder.addParam(
        "embed_positions.weight",
        normalTable(cfg.contextLength, cfg.dModel, cfg.dModel ** -0.5),
      );
    }
    for (let i = 0; i < cfg.layers; i++) this.layers.push(decoder.addChild(`layers.${i}`, new DecoderLayer(cfg)));
    if (cfg.arch !== "postln") this.layerNorm = decoder.addChild("layer_norm", new LayerNorm(cfg.dModel));
    for (const [name, p] of this.namedParameters()) p.name = name; // full fairseq names for optimizer state and logs
  }

  /** ids i32 (B, T) → logits (B, T, V). */
  forward(ids: Tensor, stats?: ForwardStats): Tensor {
    const { cfg } = this;
    if (ids.dtype !== "i32" || ids.rank !== 2) {
      throw new Error(`Cannot run the model on ${ids.dtype} ids of shape ${fmtShape(ids.shape)}: expected i32 (B, T)`);
    }
    const t = ids.shape[1];
    if (t > cfg.contextLength) {
      throw new Error(`Cannot run a sequence of length ${t}: the context length is ${cfg.contextLength}`);
    }
    let x = embedding(this.embedTokens, ids).mul(Math.sqrt(cfg.dModel)); // (B, T, C)
    x = x.add(this.#positions(t));
    x = dropFreeing(x, cfg.dropout, this.training);
    for (const layer of this.layers) x = layer.forward(x, stats);
    if (this.layerNorm) x = this.layerNorm.forward(x);
    return x.matmul(this.embedTokens, { transB: true }); // tied output projection, (B, T, V)
  }

  /** Mean cross-entropy (nats per token) of predicting `targets` (B, T). */
  loss(ids: Tensor, targets: Tensor, stats?: ForwardStats): Tensor {
    return crossEntropy(this.forward(ids, stats), targets);
  }

  /** Positions for T tokens, (T, C). */
  #positions(t: number): Tensor {
    if (this.embedPositions) return this.embedPositions.slice(0, 0, t);
    if (!this.#sinusoids || this.#sinusoids.disposed) {
      const c = this.cfg.contextLength, d = this.cfg.dModel;
      this.#sinusoids = tensor(sinusoidalPositions(c, d), { shape: [c, d] });
      keep(this.#sinusoids); // a constant table that lives as long as the model
    }
    return this.#sinusoids.slice(0, 0, t);
  }

  /** Release parameters and cached tables. */
  override dispose(): void {
    super.dispose();
    this.#sinusoids?.dispose();
  }
}
