import * as nk from "./mod.ts"; // or from a URL: import * as nk from "https://…/normformer-kit/mod.ts"

// 1. Tensors with reverse-mode autograd, on the CPU or WebGPU.
await nk.init({ backend: "cpu", seed: 1 }); // "cpu" | "webgpu" | "auto" (env NK_BACKEND); seeds every draw
const x = nk.randn([4, 8], { requiresGrad: true });
const w = nk.randn([8, 3], { requiresGrad: true });
const y = nk.F.layerNorm(x.matmul(w), nk.ones([3]), nk.zeros([3])).gelu().mean();
y.backward();
console.log(await y.item(), (await w.grad!.toArray()).length); // a scalar, 24

// 2. The model family: arch "postln" | "preln" | "normformer"; each NormFormer operation is a switch.
const cfg = { arch: "normformer", vocabSize: 256, dModel: 64, heads: 2, dFF: 256, layers: 2 } as const;
const model = new nk.NormFormerLM({ ...cfg, residScale: true });
console.log(nk.paramCount(model.cfg).extraPerLayer); // 2C + 2F + H + C = 706 parameters NormFormer adds per layer
console.log(model.namedParameters().map(([name]) => name).slice(0, 3)); // fairseq's state-dict names

// 3. One training step by hand: fairseq's Adam with decoupled weight decay.
const text = (s: string) => nk.tensor([[...new TextEncoder().encode(s)]], { dtype: "i32" });
const opt = new nk.AdamW(model.parameters(), { lr: 1e-3 });
const loss = model.loss(text("Call me Ishmael"), text("all me Ishmael."));
loss.backward();
opt.step();
opt.zeroGrad();
console.log(await loss.item()); // ≈ ln 256 = 5.55 at init

// 4. The training loop: config is one flat object (preset → JSON file → flags); records are plain data.
const config = nk.resolveConfig([{ preset: "tiny", corpus: "fixture", steps: 20, evalEvery: 10, evalTokens: 2048 }]);
const records: nk.RunRecord[] = [];
const run = await nk.train({ config, runDir: null, onRecord: (r) => records.push(r) }); // runDir: metrics.jsonl
console.log(run.lastEval?.loss, run.lastEval?.bpb); // validation nats per token and bits per byte
const dir = await Deno.makeTempDir();
await nk.saveFairseqCheckpoint(`${dir}/model.safetensors`, run.model); // fairseq names, see below

// 5. Plots read the records, not the model: Vega-Lite specs that display in Jupyter or save as SVG/PNG/HTML.
const { lossCurve, saveFigure } = await import("./lib/plot/mod.ts");
await saveFigure(lossCurve([{ name: "tiny", records }]), `${dir}/loss.svg`);
await Deno.remove(dir, { recursive: true });
