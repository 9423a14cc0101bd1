/**
 * Process-wide state of the tensor core: the default backend, the memory scopes of `tidy`, the grad mode and
 * the seeded generator. Kept in one place so every op reads it the same way.
 * @module
 */
import type { Backend } from "../backend/backend.ts";
import { Rng } from "./rng.ts";

/** Something a scope can release: a Tensor. */
export interface Disposable {
  /** Release the underlying storage. */
  dispose(): void;
  /** Whether `dispose()` has run. */
  readonly disposed: boolean;
}

interface State {
  backend: Backend | null;
  scopes: Set<Disposable>[];
  gradEnabled: boolean;
  rng: Rng;
}

const state: State = { backend: null, scopes: [], gradEnabled: true, rng: new Rng(0) };

/** Make `backend` the default for new tensors. */
export function setBackend(backend: Backend): void {
  state.backend = backend;
}

/** The default backend; throws if `init` has not run. */
export function getBackend(): Backend {
  if (!state.backend) {
    throw new Error('No backend is set: call `await nk.init({ backend: "cpu" })` (or "webgpu") first');
  }
  return state.backend;
}

/** Whether ops record the autograd graph. */
export function isGradEnabled(): boolean {
  return state.gradEnabled;
}

/** Run `fn` without recording gradients (evaluation, optimizer updates, backward rules). */
export function noGrad<T>(fn: () => T): T {
  const prev = state.gradEnabled;
  state.gradEnabled = false;
  try {
    return fn();
  } finally {
    state.gradEnabled = prev;
  }
}

/** The seeded generator behind randn, rand and dropout. */
export function getRng(): Rng {
  return state.rng;
}

/** Reseed (or restore) the generator behind randn, rand and dropout. */
export function setRng(rng: Rng): void {
  state.rng = rng;
}

/** Register a new tensor in the innermost scope, if any. */
export function track(t: Disposable): void {
  const top = state.scopes[state.scopes.length - 1];
  if (top) top.add(t);
}

/** Remove a tensor from every scope so `tidy` leaves it alive (parameters, gradients, optimizer state). */
export function keep<T extends Disposable>(t: T): T {
  for (const s of state.scopes) s.delete(t);
  return t;
}

/**
 * Run `fn` and dispose every tensor it created except those it returns (in an array, object or directly) and
 * those passed to `keep`. Synchronous and asynchronous functions are both accepted.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Disposable>();
  state.scopes.push(scope);
  let out: T;
  try {
    out = fn();
  } catch (e) {
    close(scope);
    throw e;
  }
  if (out instanceof Promise) {
    throw new Error("Cannot tidy an async function: await inside it breaks scope order; use tidyAsync");
  }
  close(scope, out);
  return out;
}

/** Like `tidy` for an async function; scopes must not interleave with other concurrent tidies. */
export async function tidyAsync<T>(fn: () => Promise<T>): Promise<T> {
  const scope = new Set<Disposable>();
  state.scopes.push(scope);
  let out: T;
  try {
    out = await fn();
  } catch (e) {
    close(scope);
    throw e;
  }
  close(scope, out);
  return out;
}

function close(scope: Set<Disposable>, result?: unknown): void {
  const idx = state.scopes.lastIndexOf(scope);
  if (idx !== state.scopes.length - 1) throw new Error("Cannot close a tidy scope out of order");
  state.scopes.pop();
  const kept = new Set<Disposable>();
  collect(result, kept, 0);
  const parent = state.scopes[state.scopes.length - 1];
  for (const t of scope) {
    if (kept.has(t)) parent?.add(t);
    else if (!t.disposed) t.dispose();
  }
}

function collect(v: unknown, out: Set<Disposable>, depth: number): void {
  if (v === null || typeof v !== "object" || depth > 4) return;
  if ("dispose" in v && "disposed" in v) {
    out.add(v as Disposable);
    return;
  }
  if (Array.isArray(v)) { for (const x of v) collect(x, out, depth + 1); }
  else if (v.constructor === Object) { for (const x of Object.values(v)) collect(x, out, depth + 1); }
}
