/**
 * File helpers for the data layer: atomic writes, existence checks, and reading a file or URL as bytes.
 * Private to `lib/data/`.
 * @module
 */
import { dirname, resolve } from "node:path";
import { pathToFileURL } from "node:url";

let tmpCounter = 0;

/**
 * Write `data` to `path` atomically: write a temp file beside it, then rename over the target, so a reader never
 * sees a half-written file and an interrupted run leaves the old file intact. Creates the parent folder.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  // Name the temp file by pid and a counter: unique per process without drawing random numbers.
  const tmp = `${path}.${Deno.pid}.${++tmpCounter}.tmp`;
  try {
    if (typeof data === "string") await Deno.writeTextFile(tmp, data);
    else await Deno.writeFile(tmp, data);
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
}

/** Whether a file or folder exists at `path`. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

/** Read a file, turning "not found" into an error that names the path and, if given, how to make it. */
export async function readFileOrExplain(path: string, howToMake?: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error(`Missing file ${path}${howToMake ? `: ${howToMake}` : ""}`);
    }
    throw err;
  }
}

/** Read text from a `file:` URL, an `http(s):` URL, or a path. Returns null when the file does not exist. */
export async function readTextIfExists(location: string | URL): Promise<string | null> {
  const url = location instanceof URL ? location : toUrl(location);
  if (url.protocol === "file:") {
    try {
      return await Deno.readTextFile(url);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return null;
      throw err;
    }
  }
  const res = await fetch(url);
  if (res.status === 404) {
    await res.body?.cancel();
    return null;
  }
  if (!res.ok) throw new Error(`Cannot read ${url.href}: HTTP ${res.status}`);
  return await res.text();
}

/** A path (relative to the working directory) or URL string as a URL. */
export function toUrl(location: string): URL {
  if (/^[a-z][a-z0-9+.-]+:\/\//i.test(location)) return new URL(location);
  return pathToFileURL(resolve(location));
}
