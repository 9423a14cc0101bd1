import { assertEquals } from "../assert.ts";
import { decodeText, normalizeNewlines } from "../../lib/data/decode.ts";
import { readDocuments } from "../../lib/data/documents.ts";
import { FIXTURE_DIR } from "./_helpers.ts";

Deno.test("decodeText reads valid UTF-8 as UTF-8", () => {
  assertEquals(decodeText(new TextEncoder().encode("Cæsar — “quoted”")), {
    text: "Cæsar — “quoted”",
    encoding: "utf-8",
  });
});

Deno.test("decodeText falls back to windows-1252 for invalid UTF-8", () => {
  // 0xE6 is æ and 0x93/0x94 are curly quotes in windows-1252; none is valid UTF-8 here.
  const bytes = new Uint8Array([0x43, 0xe6, 0x73, 0x61, 0x72, 0x20, 0x93, 0x68, 0x69, 0x94]);
  assertEquals(decodeText(bytes), { text: "Cæsar “hi”", encoding: "windows-1252" });
});

Deno.test("decodeText drops a UTF-8 byte-order mark", () => {
  assertEquals(decodeText(new Uint8Array([0xef, 0xbb, 0xbf, 0x41])).text, "A");
});

Deno.test("normalizeNewlines turns CRLF and lone CR into LF", () => {
  assertEquals(normalizeNewlines("a\r\nb\rc\n\r\n"), "a\nb\nc\n\n");
});

Deno.test("readDocuments decodes each fixture file with its own encoding and LF endings", async () => {
  const docs = await readDocuments(FIXTURE_DIR);
  assertEquals(docs.map((d) => [d.name, d.encoding]), [
    ["burgess-busterbrown.txt", "utf-8"],
    ["carroll-alice.txt", "utf-8"],
    ["shakespeare-caesar.txt", "windows-1252"],
  ]);
  for (const d of docs) assertEquals(d.text.includes("\r"), false, `${d.name} has a CR`);
  assertEquals(docs[2].text.includes("Ant. Cæsar, my Lord"), true);
});
