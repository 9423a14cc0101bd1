/**
 * URL-importable library code (DESIGN.md): every import under lib/ and in mod.ts is a relative path, `node:` or a
 * versioned `npm:` specifier, never a bare name from deno.json's import map (which a project importing us by URL
 * does not have); every `npm:` string anywhere in lib/ (computed dynamic imports too) carries a version.
 */
import { assertEquals } from "../assert.ts";

const ROOT = new URL("../../", import.meta.url);

/** Every .ts file under `dir`, as paths relative to the repository root. */
function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(new URL(dir, ROOT))) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...tsFiles(path));
    else if (e.name.endsWith(".ts")) out.push(path);
  }
  return out.sort();
}

/**
 * Module specifiers of import and export statements (static, `import type`, side-effect, multi-line) and of
 * dynamic `import("…")` with a literal, including those in JSDoc examples.
 */
export function specifiers(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /^[\s*]*(?:import|export)\b[^;"'`]*?\bfrom\s*["']([^"']+)["']/gm, // import … from "x", export … from "x"
    /^[\s*]*import\s*["']([^"']+)["']/gm, // import "x"
    /\bimport\s*\(\s*["'`]([^"'`$]+)["'`]/g, // import("x")
  ];
  for (const re of patterns) for (const m of source.matchAll(re)) found.push(m[1]);
  return found;
}

/** Why a specifier is not URL-importable, or null when it is. */
export function specifierProblem(spec: string): string | null {
  if (spec.startsWith("./") || spec.startsWith("../")) return null;
  if (/^node:[a-z_/]+$/.test(spec)) return null;
  if (spec.startsWith("npm:")) {
    return /^npm:(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*@[^/\s]+(\/.*)?$/.test(spec) ? null : "npm: without a version";
  }
  return "bare or unsupported specifier";
}

Deno.test("specifiers finds static, type, multi-line, side-effect and dynamic imports", () => {
  const src = `import { a } from "./a.ts";\nimport type { B } from "../b.ts";\nexport {\n  c,\n} from "npm:c@1";\n` +
    `import "node:path";\nconst m = await import("npm:d@2/x");\n * import * as nk from "../../mod.ts";\n` +
    `throw new Error("copied from \\"x\\"");`;
  assertEquals(specifiers(src), ["./a.ts", "../b.ts", "npm:c@1", "../../mod.ts", "node:path", "npm:d@2/x"]);
});

Deno.test("specifierProblem accepts relative, node: and versioned npm:, rejects the rest", () => {
  for (const ok of ["./x.ts", "../y.ts", "node:path", "npm:vega@6.4.0", "npm:@resvg/resvg-js@2.6.2", "npm:a@^4/b"]) {
    assertEquals(specifierProblem(ok), null, ok);
  }
  for (const bad of ["vega", "@std/assert", "npm:vega", "npm:@resvg/resvg-js", "jsr:@std/cli", "https://x/y.ts"]) {
    assertEquals(typeof specifierProblem(bad), "string", bad);
  }
});

Deno.test("lib/ and mod.ts import only relative paths, node: and versioned npm: specifiers", () => {
  const problems: string[] = [];
  for (const file of ["mod.ts", ...tsFiles("lib")]) {
    const source = Deno.readTextFileSync(new URL(file, ROOT));
    for (const spec of specifiers(source)) {
      const why = specifierProblem(spec);
      if (why) problems.push(`${file}: "${spec}" (${why})`);
    }
    for (const m of source.matchAll(/["'](npm:[^"'\s]+)["']/g)) { // string literals (`npm:x` in docs is prose)
      if (specifierProblem(m[1])) problems.push(`${file}: "${m[1]}" (npm: without a version)`);
    }
  }
  assertEquals(problems, []);
});
