/**
 * Read a corpus's source documents from a text file or a folder of them: decode (UTF-8, else windows-1252),
 * normalise line endings and, for Project Gutenberg books, strip the boilerplate.
 * @module
 */
import { join, relative } from "node:path";
import { stripGutenbergBoilerplate, trimBlankLines } from "./clean.ts";
import { decodeText, normalizeNewlines, type TextEncodingName } from "./decode.ts";
import type { OnDataProgress } from "./progress.ts";

/** One source document, decoded and cleaned. */
export interface SourceDocument {
  /** Path relative to the corpus root (the file name for a single-file corpus). */
  name: string;
  /** Path as read. */
  path: string;
  /** Encoding that decoded the file. */
  encoding: TextEncodingName;
  /** Size of the file in bytes. */
  sourceBytes: number;
  /** Clean text with LF line endings. */
  text: string;
}

/** Options for {@linkcode readDocuments}. */
export interface ReadDocumentsOptions {
  /** File name endings a folder corpus takes (default `[".txt"]`); hidden files and folders are always skipped. */
  extensions?: readonly string[];
  /** Strip Project Gutenberg headers, footers and NLTK title lines (default false). */
  stripGutenberg?: boolean;
  /** Progress callback. */
  onProgress?: OnDataProgress;
}

/**
 * Read a text file, or every matching file under a folder (recursively, in sorted path order so the result does
 * not depend on the file system), as cleaned documents.
 * @example
 * ```ts
 * import { readDocuments } from "./documents.ts";
 * const docs = await readDocuments("data/fixture");
 * console.log(docs.map((d) => `${d.name} ${d.encoding}`));
 * ```
 */
export async function readDocuments(path: string, options: ReadDocumentsOptions = {}): Promise<SourceDocument[]> {
  const extensions = options.extensions ?? [".txt"];
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new Error(`Corpus path ${path} does not exist`);
    throw err;
  }
  const files = info.isDirectory ? await listFiles(path, extensions) : [path];
  if (files.length === 0) {
    throw new Error(`Corpus folder ${path} has no files ending in ${extensions.join(" or ")}: expected text files`);
  }
  const docs: SourceDocument[] = [];
  for (const [i, file] of files.entries()) {
    const bytes = await Deno.readFile(file);
    const { text, encoding } = decodeText(bytes);
    const lf = normalizeNewlines(text);
    const clean = options.stripGutenberg ? stripGutenbergBoilerplate(lf) : trimBlankLines(lf);
    const name = info.isDirectory ? relative(path, file).replaceAll("\\", "/") : file.split(/[\\/]/).pop()!;
    docs.push({ name, path: file, encoding, sourceBytes: bytes.length, text: clean });
    options.onProgress?.({
      stage: "read",
      message: `read ${name} (${bytes.length} bytes, ${encoding})`,
      done: i + 1,
      total: files.length,
    });
  }
  return docs;
}

async function listFiles(dir: string, extensions: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for await (const entry of Deno.readDir(d)) {
      if (entry.name.startsWith(".")) continue;
      const p = join(d, entry.name);
      if (entry.isDirectory) await walk(p);
      else if (!extensions.some((e) => entry.name.endsWith(e))) continue;
      // Follow a symlink to a file (package managers link files); a symlinked folder is skipped to avoid cycles.
      else if (entry.isFile || (entry.isSymlink && (await Deno.stat(p)).isFile)) out.push(p);
    }
  };
  await walk(dir);
  // Code-unit order, not locale order, so every machine sorts the same way.
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
