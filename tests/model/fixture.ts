/** Loading the PyTorch-made model fixtures into a NormFormerLM. */
import { readSafetensors, type SafetensorsFile } from "../../lib/train/safetensors.ts";
import type { ModelConfig } from "../../lib/model/config.ts";

/** The fixture variants made by tests/fixtures/make_fixtures.py. */
export const VARIANTS = [
  "postln",
  "preln",
  "normformer",
  "normformer_preoutproj",
  "normformer_resid",
  "preln_relusq",
  "postattnnorm",
  "headscale",
  "ffnnorm",
] as const;

/** Read a model fixture and translate its config to ours. */
export async function loadFixture(variant: string): Promise<{ file: SafetensorsFile; config: Partial<ModelConfig> }> {
  const file = await readSafetensors(new URL(`../fixtures/model_${variant}.safetensors`, import.meta.url));
  if (file.metadata.magic !== "normformer-kit-fixture" || file.metadata.version !== "1") {
    throw new Error(`Fixture ${variant} has magic ${file.metadata.magic} version ${file.metadata.version}`);
  }
  const c = JSON.parse(file.metadata.config);
  const config: Partial<ModelConfig> = {
    vocabSize: c.vocab,
    dModel: c.d,
    heads: c.heads,
    dFF: c.dff,
    layers: c.layers,
    contextLength: Number(file.metadata.seqLen),
    arch: c.arch,
    postAttnNorm: c.postAttnNorm,
    headScale: c.headScale,
    headScalePlacement: c.headScalePlacement ?? "postOutProj",
    ffnNorm: c.ffnNorm,
    residScale: c.residScale,
    activation: c.activation === "relu_squared" ? "reluSquared" : "gelu",
  };
  return { file, config };
}
