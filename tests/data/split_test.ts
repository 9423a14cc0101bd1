import { assert, assertEquals, assertThrows } from "../assert.ts";
import { trimBlankLines } from "../../lib/data/clean.ts";
import { readDocuments } from "../../lib/data/documents.ts";
import {
  DOCUMENT_SEPARATOR,
  lineStarts,
  paragraphStarts,
  splitDocument,
  splitDocuments,
} from "../../lib/data/split.ts";
import { FIXTURE_DIR } from "./_helpers.ts";

const fixtureDocs = async () => await readDocuments(FIXTURE_DIR, { stripGutenberg: true });

/** Where valid and test begin in the document, checked to be contiguous and in order. */
function cutOffsets(body: string, parts: { train: string; valid: string; test: string }): [number, number] {
  assert(body.startsWith(parts.train), "train is not the document's start");
  const at1 = body.indexOf(parts.valid, parts.train.length);
  const at2 = body.lastIndexOf(parts.test);
  assert(at1 >= parts.train.length && at2 >= at1 + parts.valid.length, "splits are not contiguous and in order");
  assertEquals(body.slice(at2), parts.test);
  // Only blank lines lie between the parts.
  assertEquals(body.slice(parts.train.length, at1).trim(), "");
  assertEquals(body.slice(at1 + parts.valid.length, at2).trim(), "");
  return [at1, at2];
}

Deno.test("paragraphStarts finds starts after blank or whitespace-only lines", () => {
  assertEquals(paragraphStarts("a\nb\n\nc\n \t\n\nd"), [5, 11]);
  assertEquals(paragraphStarts("one paragraph\nonly\n"), []);
});

Deno.test("splitDocument cuts each fixture book at paragraph starts near 90/5/5", async () => {
  for (const doc of await fixtureDocs()) {
    const body = trimBlankLines(doc.text);
    const parts = splitDocument(body);
    const [at1, at2] = cutOffsets(body, parts);
    const starts = new Set(paragraphStarts(body));
    assert(starts.has(at1) && starts.has(at2), `${doc.name}: a cut is not at a paragraph start`);
    // Each cut is the paragraph start nearest its target, so it is off by at most the longest paragraph.
    const longest = Math.max(
      ...[0, ...starts, body.length].sort((a, b) => a - b).map((s, i, xs) => xs[i + 1] - s || 0),
    );
    assert(Math.abs(at1 - 0.9 * body.length) <= longest, `${doc.name}: train cut ${at1} far from 90%`);
    assert(Math.abs(at2 - 0.95 * body.length) <= longest, `${doc.name}: valid cut ${at2} far from 95%`);
    for (const part of [parts.train, parts.valid, parts.test]) assert(part.length > 0, `${doc.name}: empty split`);
  }
});

Deno.test("splitDocument hits exact proportions when paragraphs are uniform", () => {
  const doc = Array.from({ length: 100 }, (_, i) => `Paragraph ${String(i).padStart(3, "0")}.`).join("\n\n");
  const parts = splitDocument(doc);
  assertEquals(parts.train.split("\n\n").length, 90);
  assertEquals(parts.valid.split("\n\n").length, 5);
  assertEquals(parts.test.split("\n\n").length, 5);
  assertEquals(parts.valid.slice(0, 14), "Paragraph 090.");
});

Deno.test("splitDocument falls back to line starts when paragraphs are too coarse", () => {
  // Like Paradise Lost: ten "books", each a single 100-line paragraph.
  const book = (b: number) => Array.from({ length: 100 }, (_, i) => `Book ${b} line ${i}`).join("\n");
  const doc = Array.from({ length: 10 }, (_, b) => book(b)).join("\n\n");
  const parts = splitDocument(doc);
  const [at1, at2] = cutOffsets(doc, parts);
  const lines = new Set(lineStarts(doc));
  assert(lines.has(at1) && lines.has(at2));
  for (const [got, want] of [[at1, 0.9], [at2 - at1, 0.05], [doc.length - at2, 0.05]]) {
    assert(Math.abs(got / doc.length - want) < 0.005, `share ${got / doc.length}, expected ${want}`);
  }
});

Deno.test("splitDocument keeps a one-paragraph document in train", () => {
  assertEquals(splitDocument("just one line"), { train: "just one line", valid: "", test: "" });
});

Deno.test("splitDocument honours custom fractions, including zero", () => {
  const doc = Array.from({ length: 10 }, (_, i) => `P${i}`).join("\n\n");
  assertEquals(splitDocument(doc, [0.8, 0.2, 0]), {
    train: "P0\n\nP1\n\nP2\n\nP3\n\nP4\n\nP5\n\nP6\n\nP7",
    valid: "P8\n\nP9",
    test: "",
  });
});

Deno.test("splitDocument rejects fractions that do not sum to 1", () => {
  assertThrows(() => splitDocument("x", [0.9, 0.05, 0.1]), /Split fractions \[0\.9,0\.05,0\.1\] are invalid/);
  assertThrows(() => splitDocument("x", [1.1, -0.1, 0]), /expected three non-negative numbers summing to 1/);
});

Deno.test("splitDocuments joins books per split, in order, and is deterministic", async () => {
  const texts = (await fixtureDocs()).map((d) => d.text);
  const a = splitDocuments(texts);
  const b = splitDocuments(texts);
  assertEquals(a, b);
  const perBook = texts.map((t) => splitDocument(t));
  for (const name of ["train", "valid", "test"] as const) {
    assertEquals(a[name], perBook.map((p) => p[name]).join(DOCUMENT_SEPARATOR) + "\n");
  }
  assert(a.train.startsWith("I\n\nBUSTER BEAR GOES FISHING"));
});
