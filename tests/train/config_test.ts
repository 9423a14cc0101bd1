/** resolveConfig: precedence of the layers, flag-string conversion, and an error for each kind of bad input. */
import { assert, assertEquals, assertThrows } from "../assert.ts";
import {
  CONFIG_KEYS,
  ConfigError,
  presets,
  resolveConfig,
  TRAIN_DEFAULTS,
  type TrainConfig,
} from "../../lib/train/config.ts";
import { PRESET_LAYERS, PRESET_NAMES } from "../../lib/train/presets.ts";
import { MODEL_DEFAULTS } from "../../lib/model/config.ts";
import { levenshtein, nearest } from "../../lib/train/nearest.ts";

/** Assert `fn` throws a ConfigError whose message matches. */
function assertConfigError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof ConfigError && pattern.test(e.message));
}

Deno.test("resolveConfig with no layers is the tiny preset over the defaults", () => {
  const cfg = resolveConfig([]);
  assertEquals(cfg, presets.tiny);
  assertEquals(cfg.preset, "tiny");
  assertEquals([cfg.layers, cfg.dModel, cfg.heads, cfg.dFF, cfg.contextLength, cfg.batchSize], [2, 64, 2, 256, 64, 8]);
  assertEquals([cfg.beta1, cfg.beta2, cfg.eps, cfg.weightDecay, cfg.clipNorm], [0.9, 0.98, 1e-8, 0.01, 0]);
  // Every key but updateFreq, which a config leaves out at its default of 1 (configs saved before it compare equal).
  assertEquals(new Set(Object.keys(cfg)), new Set(CONFIG_KEYS.filter((k) => k !== "updateFreq")));
});

Deno.test("resolveConfig precedence: defaults < preset < file < flags", () => {
  const file = { preset: "small", lr: 2e-3, seed: 5, name: "from-file" };
  const flags = { lr: "3e-3", name: "from-flags" };
  const cfg = resolveConfig([file, flags]);
  assertEquals(cfg.layers, 6); // preset
  assertEquals(cfg.seed, 5); // file over default
  assertEquals(cfg.lr, 0.003); // flags over file over preset
  assertEquals(cfg.name, "from-flags");
  assertEquals(cfg.beta2, TRAIN_DEFAULTS.beta2); // default
  // A later layer's preset wins, and explicit fields of every layer still override it.
  const cfg2 = resolveConfig([{ preset: "small", steps: 700 }, { preset: "t1" }]);
  assertEquals([cfg2.preset, cfg2.dModel, cfg2.steps], ["t1", 128, 700]);
  // undefined means "not given".
  assertEquals(resolveConfig([{ lr: 5e-4 }, { lr: undefined }]).lr, 5e-4);
});

Deno.test("resolveConfig converts flag strings: numbers, exponents, booleans", () => {
  const cfg = resolveConfig([{
    lr: "1e-3",
    steps: "300",
    warmup: " 30 ",
    gradStats: "true",
    skipNonFinite: "false",
    dropout: "0.1",
    residScale: "true",
    arch: "preln",
  }]);
  assertEquals([cfg.lr, cfg.steps, cfg.warmup, cfg.gradStats, cfg.skipNonFinite], [0.001, 300, 30, true, false]);
  assertEquals([cfg.dropout, cfg.residScale, cfg.arch], [0.1, true, "preln"]);
  assertEquals(resolveConfig([{ gradStats: true }]).gradStats, true); // a bare --gradStats flag gives true
});

Deno.test("resolveConfig lets the NormFormer switches follow arch unless a layer sets them", () => {
  const nf = resolveConfig([{ arch: "normformer" }]);
  assertEquals([nf.postAttnNorm, nf.headScale, nf.ffnNorm, nf.residScale], [true, true, true, false]);
  const pre = resolveConfig([{ preset: "t1" }, { arch: "preln" }]);
  assertEquals([pre.postAttnNorm, pre.headScale, pre.ffnNorm], [false, false, false]);
  const ablation = resolveConfig([{ preset: "t1", headScale: false }]);
  assertEquals([ablation.postAttnNorm, ablation.headScale, ablation.ffnNorm], [true, false, true]);
});

Deno.test("resolveConfig rejects unknown keys with the nearest valid name", () => {
  assertConfigError(() => resolveConfig([{ dmodel: 128 }]), /^Unknown config key "dmodel": did you mean "dModel"\?$/);
  assertConfigError(() => resolveConfig([{}, { wamrup: 5 }]), /Unknown config key "wamrup": did you mean "warmup"\?/);
  assertConfigError(() => resolveConfig([{ batch_size: 5 }]), /did you mean "batchSize"\?/);
  assertConfigError(() => resolveConfig([{ zzz: 1 }]), /^Unknown config key "zzz": expected one of vocabSize, /);
  assertConfigError(() => resolveConfig([JSON.parse('{"__proto__": 1}')]), /Unknown config key "__proto__"/);
});

Deno.test("resolveConfig rejects values of the wrong type, naming key, value and expected type", () => {
  assertConfigError(() => resolveConfig([{ lr: "abc" }]), /^Invalid lr "abc": expected a finite number > 0$/);
  assertConfigError(() => resolveConfig([{ lr: "" }]), /^Invalid lr "": expected a finite number > 0$/);
  assertConfigError(() => resolveConfig([{ lr: "Infinity" }]), /Invalid lr "Infinity"/);
  assertConfigError(() => resolveConfig([{ steps: true }]), /^Invalid steps true: expected an integer ≥ 1$/);
  assertConfigError(() => resolveConfig([{ gradStats: "yes" }]), /^Invalid gradStats "yes": expected true or false$/);
  assertConfigError(() => resolveConfig([{ gradStats: 1 }]), /^Invalid gradStats 1: expected true or false$/);
  assertConfigError(() => resolveConfig([{ corpus: 5 }]), /^Invalid corpus 5: expected a non-empty string$/);
  assertConfigError(() => resolveConfig([{ dModel: "wide" }]), /^Invalid dModel "wide": expected a number$/);
  assertConfigError(() => resolveConfig([{ ffnNorm: "on" }]), /^Invalid ffnNorm "on": expected true or false$/);
  assertConfigError(() => resolveConfig([{ arch: 3 }]), /^Invalid arch 3: expected a string$/);
});

Deno.test("resolveConfig rejects out-of-range and unknown-choice values", () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ steps: 0 }, /^Invalid steps 0: expected an integer ≥ 1$/],
    [{ batchSize: "2.5" }, /^Invalid batchSize "2.5": expected an integer ≥ 1$/],
    [{ lr: -1 }, /^Invalid lr -1: expected a finite number > 0$/],
    [{ warmup: -5 }, /^Invalid warmup -5: expected an integer ≥ 0$/],
    [{ beta1: 1 }, /^Invalid beta1 1: expected 0 ≤ beta1 < 1$/],
    [{ beta2: "1.5" }, /^Invalid beta2 "1.5": expected 0 ≤ beta2 < 1$/],
    [{ eps: 0 }, /^Invalid eps 0: expected a finite number > 0$/],
    [{ weightDecay: -0.1 }, /^Invalid weightDecay -0.1/],
    [{ clipNorm: -1 }, /^Invalid clipNorm -1: expected a finite number ≥ 0 \(0 = off\)$/],
    [{ seed: 2 ** 32 }, /^Invalid seed 4294967296: expected an integer in \[0, 2\^32\)$/],
    [{ logEvery: 0 }, /^Invalid logEvery 0/],
    [{ evalTokens: 0 }, /^Invalid evalTokens 0/],
    [{ schedule: "step" }, /^Invalid schedule "step": expected one of "linear", "cosine", "constant", "ramp"$/],
    [{ tokenizer: "bpe" }, /^Invalid tokenizer "bpe": expected one of "byte", "gpt2"$/],
    [{ backend: "gpu" }, /^Invalid backend "gpu": expected one of "cpu", "webgpu", "auto"$/],
    [{ provider: "wgpu" }, /^Invalid provider "wgpu"/],
    [{ preset: "huge" }, /^Invalid preset "huge": expected one of "tiny", "small", "t0", "t1", "t2", "paper125m"$/],
    [{ name: "../escape" }, /^Invalid name "..\/escape": expected letters, digits/],
    [{ out: "" }, /^Invalid out "": expected a non-empty path$/],
  ];
  for (const [layer, pattern] of cases) assertConfigError(() => resolveConfig([layer]), pattern);
});

Deno.test("resolveConfig checks model fields through resolveModelConfig, as ConfigErrors", () => {
  assertConfigError(() => resolveConfig([{ dModel: 100, heads: 3 }]), /Invalid heads 3: dModel 100 must be divisible/);
  assertConfigError(() => resolveConfig([{ arch: "transformer" }]), /Unknown arch "transformer"/);
  assertConfigError(() => resolveConfig([{ dropout: 1 }]), /Invalid dropout 1: expected 0 ≤ p < 1/);
  assertConfigError(() => resolveConfig([{ arch: "postln", ffnNorm: true }]), /Invalid arch "postln" with ffnNorm/);
});

Deno.test("resolveConfig checks relations between fields: schedule and tokenizer vocabulary", () => {
  assertConfigError(
    () => resolveConfig([{ steps: 100, warmup: 200 }]),
    /^Invalid warmup 200: expected at most steps \(100\) for a "linear" schedule; lower warmup \(--warmup=N\) or raise/,
  );
  assertConfigError(() => resolveConfig([{ endLr: 1 }]), /^Invalid endLr 1: expected 0 ≤ endLr ≤ lr \(0.001\)$/);
  assertConfigError(() => resolveConfig([{ schedule: "ramp", rampK: 0 }]), /^Invalid rampK 0/);
  assertConfigError(
    () => resolveConfig([{ tokenizer: "gpt2" }]),
    /^Invalid vocabSize 256: expected at least 50257 for the "gpt2" tokenizer$/,
  );
  assertConfigError(() => resolveConfig([{ vocabSize: 100 }]), /at least 256 for the "byte" tokenizer/);
  // warmup > steps is fine where nothing decays (t0 ends inside its warm-up).
  assertEquals(resolveConfig([{ schedule: "constant", steps: 100, warmup: 200 }]).warmup, 200);
  assertEquals(resolveConfig([{ schedule: "ramp", steps: 100, warmup: 200 }]).schedule, "ramp");
});

Deno.test("resolveConfig scales a preset's warm-up to a shorter run that would end inside it", () => {
  // tiny warms up for 20 of 200 steps: 10 steps keep that share (1), 100 steps keep 20 (it fits).
  assertEquals(resolveConfig([{ preset: "tiny" }, { steps: 10 }]).warmup, 1);
  assertEquals(resolveConfig([{ steps: 3 }]).warmup, 0);
  assertEquals(resolveConfig([{ preset: "tiny", steps: 100 }]).warmup, 20);
  assertEquals(resolveConfig([{ preset: "small", steps: 40 }]).warmup, 2); // 5% of small's 2000
  assertEquals(resolveConfig([{ preset: "paper125m", steps: 1 }]).warmup, 0);
  // A warm-up someone set is theirs: too long is an error naming --warmup; t0's constant schedule keeps 750.
  assertConfigError(() => resolveConfig([{ steps: 10 }, { warmup: 20 }]), /Invalid warmup 20: .*--warmup=N/);
  assertEquals(resolveConfig([{ preset: "t0", steps: 10 }]).warmup, 750);
});

Deno.test("resolveConfig rejects a layer that is not an object", () => {
  assertConfigError(() => resolveConfig([{}, [] as unknown as Record<string, unknown>]), /Invalid config layer 1/);
  assertConfigError(() => resolveConfig([null as unknown as Record<string, unknown>]), /layer 0: .* got null/);
});

Deno.test("presets resolve, match NORMFORMER.md (e)/(d), and are frozen", () => {
  const shape = (c: TrainConfig) => [c.layers, c.dModel, c.heads, c.dFF, c.contextLength, c.batchSize, c.steps];
  assertEquals(shape(presets.tiny), [2, 64, 2, 256, 64, 8, 200]);
  assertEquals(shape(presets.small), [6, 128, 4, 512, 128, 16, 2000]);
  assertEquals(shape(presets.t0), [12, 64, 2, 256, 128, 8, 600]);
  assertEquals(shape(presets.t1), [12, 128, 4, 512, 256, 32, 3000]);
  assertEquals(shape(presets.t2), [12, 192, 6, 768, 256, 32, 4000]);
  assertEquals(shape(presets.paper125m), [12, 768, 12, 3072, 2048, 256, 572204]);
  const p = presets.paper125m;
  assertEquals([p.lr, p.warmup, p.schedule, p.endLr, p.dropout, p.attentionDropout], [
    3e-3,
    750,
    "linear",
    0,
    0.1,
    0.1,
  ]);
  assertEquals([p.tokenizer, p.vocabSize, p.arch, p.weightDecay, p.clipNorm], ["gpt2", 50257, "normformer", 0.01, 0]);
  assertEquals([presets.t0.warmup, presets.t0.schedule, presets.t0.gradStats], [750, "constant", true]);
  for (const name of PRESET_NAMES) {
    assertEquals(presets[name].preset, name);
    assert.ok(Object.isFrozen(presets[name]) && Object.isFrozen(PRESET_LAYERS[name]), name);
    for (const key of Object.keys(PRESET_LAYERS[name])) assert.ok(CONFIG_KEYS.includes(key), `${name}.${key}`);
  }
  assertThrows(() => ((presets.tiny as TrainConfig).lr = 1), /read only|Cannot assign/);
});

Deno.test("CONFIG_KEYS holds every model and run field once", () => {
  assertEquals(CONFIG_KEYS.length, new Set(CONFIG_KEYS).size);
  for (const k of [...Object.keys(MODEL_DEFAULTS), ...Object.keys(TRAIN_DEFAULTS)]) assert.ok(CONFIG_KEYS.includes(k));
});

Deno.test("levenshtein and nearest", () => {
  assertEquals(levenshtein("", "abc"), 3);
  assertEquals(levenshtein("kitten", "sitting"), 3);
  assertEquals(levenshtein("same", "same"), 0);
  assertEquals(nearest("dmodel", CONFIG_KEYS), "dModel");
  assertEquals(nearest("lr", ["lr", "eps"]), "lr");
  assertEquals(nearest("completely-different", ["lr", "eps"]), undefined);
  assertEquals(nearest("x", []), undefined);
});
