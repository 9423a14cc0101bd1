/**
 * Weights to and from fairseq. Our parameters already carry fairseq's state-dict names; a real fairseq
 * `TransformerLanguageModel` state dict holds three more entries, which these functions drop (after checking them)
 * and add back, so that fairseq's `model.load_state_dict(state, strict=True)` accepts what we export:
 *
 * - `decoder.output_projection.weight`: the tied output projection, an alias of `decoder.embed_tokens.weight`;
 * - `decoder.embed_positions._float_tensor`: a 1-element buffer of `SinusoidalPositionalEmbedding` (fairseq ≤ 0.12;
 *   later versions delete it on load, so it is safe to write);
 * - `decoder.version`: the decoder's format buffer, `[3]`.
 *
 * fairseq's learned positions (`decoder.embed_positions.weight`) have 2 extra leading rows (positions start at
 * padding_idx + 1 = 2); they are dropped on import and written as zeros on export.
 * @module
 */
import type { NormFormerLM } from "../model/normformer.ts";
import type { ModelConfig } from "../model/config.ts";
import { fairseqModelArgs, modelConfigFromFairseq } from "./fairseq_config.ts";
import { readSafetensors, type SafeTensor, writeSafetensors } from "./safetensors.ts";

/** A host tensor as `Module.loadStateDict` takes it and `decodeSafetensors` returns it. */
export interface HostTensor {
  /** Dimensions, outermost first. */
  shape: readonly number[];
  /** Row-major elements. */
  data: Float32Array | Int32Array;
}

/** The entries of a fairseq state dict that are not parameters of our model. */
export const FAIRSEQ_EXTRA_KEYS: readonly string[] = [
  "decoder.output_projection.weight",
  "decoder.embed_positions._float_tensor",
  "decoder.version",
];

/** The value of fairseq's `decoder.version` buffer (`TransformerDecoderBase` registers `torch.Tensor([3])`). */
export const FAIRSEQ_DECODER_VERSION = 3;

/** Metadata key under which safetensors files hold fairseq's model arguments (a JSON string). */
export const FAIRSEQ_ARGS_KEY = "fairseq.model";

/** Offset of fairseq's first position: padding_idx (1) + 1. */
const POSITION_OFFSET = 2;

/** fairseq entries that come from options this model does not have, and the option to name in the error. */
const UNSUPPORTED_PREFIXES: [prefix: string, option: string][] = [
  ["decoder.layernorm_embedding.", "--layernorm-embedding"],
  ["decoder.project_in_dim.", "decoder_input_dim ≠ decoder_embed_dim"],
  ["decoder.project_out_dim.", "decoder_output_dim ≠ decoder_embed_dim"],
  ["decoder.adaptive_softmax.", "--adaptive-softmax-cutoff"],
  ["decoder.embed_tokens.embeddings.", "--adaptive-input"],
  ["decoder.embed_out", "an untied output projection"],
];

function fail(message: string): never {
  throw new Error(`Cannot import fairseq weights: ${message}`);
}

const fmt = (shape: readonly number[]): string => `[${shape.join(", ")}]`;

function checkTied(out: HostTensor, emb: HostTensor | undefined): void {
  const o = "decoder.output_projection.weight", e = "decoder.embed_tokens.weight";
  if (!emb) fail(`${o} is present but ${e} is missing`);
  if (out.shape.length !== emb.shape.length || out.shape.some((s, i) => s !== emb.shape[i])) {
    fail(`${o} has shape ${fmt(out.shape)} but ${e} has ${fmt(emb.shape)}; this model ties them`);
  }
  let worst = 0, at = -1;
  for (let i = 0; i < out.data.length; i++) {
    const d = Math.abs(out.data[i] - emb.data[i]);
    if (!(d <= worst)) [worst, at] = [d, i]; // NaN counts as a difference
  }
  if (at >= 0) {
    fail(
      `${o} differs from ${e} (|difference| ${
        worst.toPrecision(3)
      } at element ${at}); this model ties them, as fairseq's ` +
        `--share-decoder-input-output-embed does`,
    );
  }
}

/**
 * A fairseq state dict (tensors by name, e.g. a converted `checkpoint.pt["model"]`) made ready for
 * `NormFormerLM.loadStateDict`: the tied output projection is checked to equal the embedding and dropped, the
 * position buffer and `decoder.version` (must be 3) are dropped, learned positions lose fairseq's 2 leading rows.
 * Entries from fairseq options this model lacks are an error naming the option. The input is not modified.
 * @example
 * ```ts
 * import * as nk from "../../mod.ts";
 * const file = await nk.readSafetensors("tests/fixtures/fairseq_normformer.safetensors");
 * const cfg = nk.modelConfigFromFairseq(JSON.parse(file.metadata["fairseq.model"]), 37);
 * await nk.init({ backend: "cpu" });
 * const model = new nk.NormFormerLM(cfg);
 * model.loadStateDict(nk.importFairseqStateDict(file.tensors));
 * ```
 */
export function importFairseqStateDict<T extends HostTensor>(tensors: Record<string, T>): Record<string, T> {
  for (const name of Object.keys(tensors)) {
    const hit = UNSUPPORTED_PREFIXES.find(([p]) => name.startsWith(p));
    if (hit) fail(`"${name}" comes from fairseq's ${hit[1]}, which this model does not have`);
  }
  const out: Record<string, T> = {};
  for (const [name, t] of Object.entries(tensors)) {
    if (name === "decoder.output_projection.weight") checkTied(t, tensors["decoder.embed_tokens.weight"]);
    else if (name === "decoder.version") {
      if (t.data.length !== 1 || t.data[0] !== FAIRSEQ_DECODER_VERSION) {
        fail(
          `decoder.version is ${
            fmt(Array.from(t.data))
          }, expected [${FAIRSEQ_DECODER_VERSION}] (older fairseq decoders differ in their final LayerNorm)`,
        );
      }
    } else if (name === "decoder.embed_positions._float_tensor" || name === "decoder.embed_positions.weights") {
      // buffers of fairseq's sinusoidal positions: no parameters (our table is computed, as theirs)
    } else if (name === "decoder.embed_positions.weight") {
      const [rows, cols] = t.shape;
      if (t.shape.length !== 2 || rows <= POSITION_OFFSET) {
        fail(`${name} has shape ${fmt(t.shape)}, expected [T + ${POSITION_OFFSET}, C] (fairseq's offset rows first)`);
      }
      const data = t.data.slice(POSITION_OFFSET * cols);
      out[name] = { ...t, shape: [rows - POSITION_OFFSET, cols], data };
    } else out[name] = t;
  }
  return out;
}

/**
 * The model's parameters as a complete fairseq state dict: our tensors plus the tied
 * `decoder.output_projection.weight`, `decoder.embed_positions._float_tensor` (sinusoidal positions) and
 * `decoder.version`, with learned positions widened by fairseq's 2 leading rows. Throws for a model fairseq cannot
 * run (HeadScale before out_proj; see `fairseqModelArgs`).
 * @example
 * ```ts
 * import * as nk from "../../mod.ts";
 * await nk.init({ backend: "cpu" });
 * const model = new nk.NormFormerLM({ vocabSize: 32, dModel: 8, heads: 2, dFF: 16, layers: 1 });
 * const state = await nk.exportFairseqStateDict(model);
 * console.log(state["decoder.version"].data); // Float32Array [3]
 * ```
 */
export async function exportFairseqStateDict(model: NormFormerLM): Promise<Record<string, SafeTensor>> {
  fairseqModelArgs(model.cfg); // throws for what fairseq cannot express
  const out: Record<string, SafeTensor> = {};
  for (const [name, t] of Object.entries(await model.stateDict())) {
    if (name === "decoder.embed_positions.weight") {
      const [rows, cols] = t.shape;
      const data = new Float32Array((rows + POSITION_OFFSET) * cols);
      data.set(t.data, POSITION_OFFSET * cols); // rows 0 and 1 (padding) are zeros, as fairseq initializes them
      out[name] = { dtype: "F32", shape: [rows + POSITION_OFFSET, cols], data };
    } else out[name] = { dtype: "F32", shape: t.shape, data: t.data };
  }
  const emb = out["decoder.embed_tokens.weight"];
  out["decoder.output_projection.weight"] = { dtype: "F32", shape: [...emb.shape], data: emb.data.slice() };
  if (model.cfg.positions === "sinusoidal") {
    out["decoder.embed_positions._float_tensor"] = { dtype: "F32", shape: [1], data: new Float32Array(1) };
  }
  out["decoder.version"] = { dtype: "F32", shape: [1], data: new Float32Array([FAIRSEQ_DECODER_VERSION]) };
  return out;
}

/**
 * Write the model as a fairseq-ready safetensors file: `exportFairseqStateDict` plus metadata `format` = "pt",
 * `fairseq.model` (the `transformer_lm` arguments, JSON) and `config` (`cfg`, default the model's config, JSON),
 * and any `extra` metadata strings. README's "Taking weights to fairseq" turns it into a fairseq `.pt`.
 * @example
 * ```ts
 * import * as nk from "../../mod.ts";
 * await nk.init({ backend: "cpu" });
 * const model = new nk.NormFormerLM({ vocabSize: 32, dModel: 8, heads: 2, dFF: 16, layers: 1 });
 * const dir = await Deno.makeTempDir();
 * await nk.saveFairseqCheckpoint(`${dir}/model.safetensors`, model);
 * const back = await nk.loadFairseqCheckpoint(`${dir}/model.safetensors`);
 * console.log(back.config.arch); // normformer
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function saveFairseqCheckpoint(
  path: string,
  model: NormFormerLM,
  cfg: object = model.cfg,
  extra: Record<string, string> = {},
): Promise<void> {
  const metadata = {
    ...extra,
    format: "pt",
    [FAIRSEQ_ARGS_KEY]: JSON.stringify(fairseqModelArgs(model.cfg)),
    config: JSON.stringify(cfg),
  };
  await writeSafetensors(path, await exportFairseqStateDict(model), metadata);
}

/** A fairseq-style safetensors file read back: our config, the state dict ready to load, and the metadata. */
export interface FairseqCheckpoint {
  /** Model config from the file's fairseq arguments and the embedding's rows. */
  config: ModelConfig;
  /** Parameters for `NormFormerLM.loadStateDict` (fairseq's extra entries checked and dropped). */
  stateDict: Record<string, HostTensor>;
  /** Every metadata string of the file. */
  metadata: Record<string, string>;
}

/**
 * Read a safetensors file holding a fairseq state dict and, under metadata `fairseq.model`, its `transformer_lm`
 * arguments (as `saveFairseqCheckpoint` writes, or a fairseq user converts from a `.pt`; see README).
 * @example
 * ```ts
 * import * as nk from "../../mod.ts";
 * const { config, stateDict } = await nk.loadFairseqCheckpoint("tests/fixtures/fairseq_normformer.safetensors");
 * await nk.init({ backend: "cpu" });
 * const model = new nk.NormFormerLM(config);
 * model.loadStateDict(stateDict);
 * console.log(config.arch, config.residScale); // normformer true
 * ```
 */
export async function loadFairseqCheckpoint(path: string): Promise<FairseqCheckpoint> {
  const { tensors, metadata } = await readSafetensors(path);
  const json = metadata[FAIRSEQ_ARGS_KEY];
  if (json === undefined) {
    throw new Error(
      `Cannot load fairseq checkpoint ${path}: no "${FAIRSEQ_ARGS_KEY}" metadata with its model arguments`,
    );
  }
  let args: unknown;
  try {
    args = JSON.parse(json);
  } catch (e) {
    throw new Error(
      `Cannot load fairseq checkpoint ${path}: "${FAIRSEQ_ARGS_KEY}" is not JSON (${(e as Error).message})`,
    );
  }
  if (args === null || typeof args !== "object" || Array.isArray(args)) {
    throw new Error(
      `Cannot load fairseq checkpoint ${path}: "${FAIRSEQ_ARGS_KEY}" is ${json.slice(0, 40)}, not an object`,
    );
  }
  const emb = tensors["decoder.embed_tokens.weight"];
  if (!emb || emb.shape.length !== 2) {
    throw new Error(`Cannot load fairseq checkpoint ${path}: no 2-D "decoder.embed_tokens.weight"`);
  }
  try {
    const config = modelConfigFromFairseq(args as Record<string, unknown>, emb.shape[0]);
    return { config, stateDict: importFairseqStateDict(tensors), metadata };
  } catch (e) {
    throw new Error(`${(e as Error).message} (in ${path})`, { cause: e });
  }
}
