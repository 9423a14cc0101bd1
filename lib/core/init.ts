/**
 * `init`: pick the backend and seed the generator for the tensor core.
 * @module
 */
import type { Backend } from "../backend/backend.ts";
import { type BackendOptions, createBackend } from "../backend/select.ts";
import { setBackend, setRng } from "./runtime.ts";
import { Rng } from "./rng.ts";

/** Options of `init`. */
export interface InitOptions extends BackendOptions {
  /** Seed of the generator behind randn, rand and dropout (default 0). */
  seed?: number;
}

/**
 * Create the backend, make it the default and seed the generator. Returns the backend.
 * @example
 * ```ts
 * import * as nk from "../../mod.ts";
 * const backend = await nk.init({ backend: "cpu", seed: 1 });
 * console.log(backend.name); // "cpu"
 * ```
 */
export async function init(opts: InitOptions = {}): Promise<Backend> {
  const backend = await createBackend(opts);
  setBackend(backend);
  setRng(new Rng(opts.seed ?? 0));
  return backend;
}
