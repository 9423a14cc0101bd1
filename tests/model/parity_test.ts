/**
 * Parity with the PyTorch reference model (tests/fixtures/make_fixtures.py): logits, loss and every parameter
 * gradient for each arch and switch, on the CPU backend and (when an adapter exists) on WebGPU.
 */
import { assertClose, assertNormClose } from "../assert.ts";
import * as nk from "../../mod.ts";
import { loadFixture, VARIANTS } from "./fixture.ts";
import { gpuBackendOrReason } from "../backends.ts";

const gpu = await gpuBackendOrReason();
const backends: [string, () => Promise<nk.Backend>][] = [["cpu", () => Promise.resolve(nk.createCpuBackend())]];
if (typeof gpu !== "string") backends.push(["webgpu", () => Promise.resolve(gpu)]);
else console.log(`parity on webgpu skipped: ${gpu}`);

for (const [beName, make] of backends) {
  for (const variant of VARIANTS) {
    Deno.test(`NormFormerLM matches PyTorch: ${variant} on ${beName}`, async () => {
      const backend = await make();
      nk.setBackend(backend);
      const { file, config } = await loadFixture(variant);
      const t = file.tensors;
      const model = new nk.NormFormerLM(config);
      model.loadStateDict(Object.fromEntries(Object.entries(t).filter(([n]) => n.startsWith("decoder."))));
      const ids = nk.tensor(t["batch.inputs"].data, { shape: t["batch.inputs"].shape, dtype: "i32" });
      const targets = nk.tensor(t["batch.targets"].data, { shape: t["batch.targets"].shape, dtype: "i32" });
      const logits = model.forward(ids);
      assertNormClose(await logits.toArray(), t["out.logits"].data, 1e-5, "logits");
      const loss = nk.F.crossEntropy(logits, targets);
      assertClose([await loss.item()], t["out.loss"].data, 1e-5, 0, "loss");
      loss.backward();
      for (const [name, p] of model.namedParameters()) {
        // k_proj.bias has an exactly-zero gradient (softmax ignores a per-row shift), so allow rounding noise.
        assertNormClose(await p.grad!.toArray(), t[`grad.${name}`].data, 1e-4, `grad.${name}`, 1e-6);
      }
      model.dispose();
    });
    Deno.test(`NormFormerLM 10-step AdamW trajectory matches PyTorch: ${variant} on ${beName}`, async () => {
      nk.setBackend(await make());
      const { file, config } = await loadFixture(variant);
      const t = file.tensors;
      const adam = JSON.parse(file.metadata.adam);
      const model = new nk.NormFormerLM(config);
      model.loadStateDict(Object.fromEntries(Object.entries(t).filter(([n]) => n.startsWith("decoder."))));
      const opt = new nk.AdamW(model.parameters(), {
        beta1: adam.beta1,
        beta2: adam.beta2,
        eps: adam.eps,
        weightDecay: adam.weightDecay,
      });
      const ids = nk.tensor(t["batch.inputs"].data, { shape: t["batch.inputs"].shape, dtype: "i32" });
      const targets = nk.tensor(t["batch.targets"].data, { shape: t["batch.targets"].shape, dtype: "i32" });
      const losses: number[] = [];
      for (let i = 0; i < adam.steps; i++) {
        losses.push(
          await nk.tidyAsync(async () => {
            const loss = model.loss(ids, targets);
            loss.backward();
            opt.step(adam.lr);
            opt.zeroGrad();
            return await loss.item();
          }),
        );
      }
      // The reference runs in float64; float32 drifts a little over 10 updates.
      assertClose(losses, t["traj.loss"].data, 2e-5, 0, "trajectory");
      opt.dispose();
      model.dispose();
    });
  }
}
