/**
 * Import by URL (DESIGN.md "URL-importable"): the repository served over HTTP on 127.0.0.1 is imported by a
 * project with no deno.json, which builds a tiny NormFormer and runs a training step.
 */
import { assert, assertEquals } from "../assert.ts";
import { runChild } from "./_child.ts";

const ROOT = new URL("../../", import.meta.url);
const TYPES: Record<string, string> = {
  ts: "application/typescript; charset=utf-8",
  js: "application/javascript; charset=utf-8",
  json: "application/json; charset=utf-8",
};

/** Serves files under the repository root; anything outside it or missing is a 404. */
async function serveFile(req: Request): Promise<Response> {
  const path = decodeURIComponent(new URL(req.url).pathname);
  if (path.split("/").includes("..")) return new Response("not found", { status: 404 });
  try {
    const body = await Deno.readFile(new URL(`.${path}`, ROOT));
    const type = TYPES[path.slice(path.lastIndexOf(".") + 1)] ?? "application/octet-stream";
    return new Response(body, { headers: { "content-type": type } });
  } catch {
    return new Response("not found", { status: 404 });
  }
}

/** Where Deno caches remote modules and their transpiled output, so the test can remove what it added. */
async function denoCacheDirs(): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"], stdout: "piped" }).output();
  const info = JSON.parse(new TextDecoder().decode(out.stdout));
  return [info.modulesCache, info.typescriptCache].filter((d): d is string => typeof d === "string");
}

const CONSUMER = (base: string) => `
import * as nk from "${base}mod.ts";
await nk.init({ backend: "cpu", seed: 1 });
const model = new nk.NormFormerLM({ vocabSize: 32, dModel: 16, heads: 2, dFF: 32, layers: 1, contextLength: 8 });
const opt = new nk.AdamW(model.parameters(), { lr: 1e-2 });
const ids = nk.tensor([[1, 5, 9, 3, 7, 2, 8, 4]], { dtype: "i32" });
const targets = nk.tensor([[5, 9, 3, 7, 2, 8, 4, 6]], { dtype: "i32" });
const loss = model.loss(ids, targets);
loss.backward();
opt.step();
const after = await model.loss(ids, targets).item();
console.log(JSON.stringify({ loss: await loss.item(), after }));
`;

Deno.test("mod.ts imported over http:// by a project with no deno.json trains a tiny NormFormer", async () => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, serveFile);
  const { port } = server.addr;
  const base = `http://127.0.0.1:${port}/`;
  try {
    const r = await runChild([`--allow-all`, `--reload=${base}`], CONSUMER(base), { file: "consumer.ts" });
    assertEquals(r.code, 0, `consumer failed:\n${r.stderr}`);
    const { loss, after } = JSON.parse(r.stdout.split("\n").at(-1)!);
    assert(Number.isFinite(loss) && loss > 0, r.stdout);
    assert(after < loss, `one AdamW step did not lower the loss: ${loss} → ${after}`);
  } finally {
    await server.shutdown();
    for (const dir of await denoCacheDirs()) {
      await Deno.remove(`${dir}/http/127.0.0.1_PORT${port}`, { recursive: true }).catch(() => {});
    }
  }
});
