/**
 * Worker of checkpoint_fuzz_test.ts: resumes a run from each mutated checkpoint folder it is sent, through the same
 * `train({ resume: true })` path the CLI uses (with an already-aborted signal, so no step runs), and reports whether
 * the weights it loaded equal the pristine ones and the ones its model.safetensors holds, or the error it got.
 * A worker, so the test can terminate a case that hangs.
 * @module
 */
import { init } from "../../lib/core/init.ts";
import type { TrainConfig } from "../../lib/train/config.ts";
import { openTrainingData, type TrainingData } from "../../lib/train/data.ts";
import { train } from "../../lib/train/loop.ts";
import { type DecodedTensor, decodeSafetensors } from "../../lib/train/safetensors.ts";

/** A request: set up once, then one case per message. */
export type FuzzRequest =
  | { kind: "setup"; config: TrainConfig; model: Uint8Array }
  | { kind: "case"; runDir: string };

/** A reply. */
export type FuzzReply =
  | { kind: "ready" }
  | { kind: "loaded"; equalsPristine: boolean; equalsFile: boolean }
  | { kind: "error"; name: string; message: string; stack: string };

const post = (m: FuzzReply) => (globalThis as unknown as { postMessage(m: FuzzReply): void }).postMessage(m);

const booted = init({ backend: "cpu" });
let config: TrainConfig, data: TrainingData, pristine: Record<string, DecodedTensor>;

/** Bitwise-equal weights (Object.is: NaN equals NaN, −0 differs from 0). */
function same(a: Record<string, { data: ArrayLike<number> }>, b: Record<string, { data: ArrayLike<number> }>) {
  const names = Object.keys(a);
  if (names.length !== Object.keys(b).length) return false;
  return names.every((n) => {
    const x = a[n].data, y = b[n]?.data;
    if (!y || x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) return false;
    return true;
  });
}

globalThis.addEventListener("message", async (ev) => {
  const req = (ev as MessageEvent<FuzzRequest>).data;
  await booted;
  if (req.kind === "setup") {
    config = req.config;
    data = await openTrainingData(config);
    pristine = decodeSafetensors(req.model).tensors;
    return post({ kind: "ready" });
  }
  let inFile: Record<string, DecodedTensor> | null = null;
  try {
    inFile = decodeSafetensors(await Deno.readFile(`${req.runDir}/checkpoint/model.safetensors`)).tensors;
  } catch { /* the load must fail too */ }
  const stop = new AbortController();
  stop.abort();
  try {
    const run = await train({ config, runDir: req.runDir, resume: true, data, signal: stop.signal });
    const loaded = await run.model.stateDict();
    run.model.dispose();
    run.optimizer.dispose();
    post({
      kind: "loaded",
      equalsPristine: same(loaded, pristine),
      equalsFile: inFile !== null && same(loaded, inFile),
    });
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    post({ kind: "error", name: err.name, message: err.message, stack: err.stack ?? "" });
  }
});
