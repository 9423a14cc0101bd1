import { assertEquals } from "../assert.ts";
import { stripGutenbergBoilerplate } from "../../lib/data/clean.ts";

const body = Array.from({ length: 10 }, (_, i) => `Paragraph ${i} of the book.`).join("\n\n");

Deno.test("stripGutenbergBoilerplate removes a modern START/END header and footer", () => {
  const text = "The Project Gutenberg EBook of X\nLicence blah\n\n*** START OF THE PROJECT GUTENBERG EBOOK X ***\n\n" +
    body + "\n\n*** END OF THE PROJECT GUTENBERG EBOOK X ***\n\nSmall print\n";
  assertEquals(stripGutenbergBoilerplate(text), body);
});

Deno.test("stripGutenbergBoilerplate removes an 'End of Project Gutenberg' line and what follows", () => {
  // The layout of NLTK's chesterton-ball.txt.
  const text = body + "\n\n\nEnd of Project Gutenberg's The Ball and The Cross, by G.K. Chesterton\n\n" +
    "*** END OF THE PROJECT GUTENBERG EBOOK THE BALL AND THE CROSS ***\n\nThis file should be named bllcr10.txt\n" +
    "***START**THE SMALL PRINT!**FOR PUBLIC DOMAIN EBOOKS**START***\nlegal text\n";
  assertEquals(stripGutenbergBoilerplate(text), body);
});

Deno.test("stripGutenbergBoilerplate removes NLTK's bracketed title line", () => {
  assertEquals(stripGutenbergBoilerplate(`[Emma by Jane Austen 1816]\n\n${body}\n`), body);
  assertEquals(stripGutenbergBoilerplate(`[Stories by Sara Cone Bryant 1918] \n\n${body}`), body);
  assertEquals(stripGutenbergBoilerplate(`[Emma]\n${body}`, { titleLine: false }), `[Emma]\n${body}`);
});

Deno.test("stripGutenbergBoilerplate keeps bracketed lines that are not the title", () => {
  const text = `${body}\n\n[Illustration]\n\n${body}`;
  assertEquals(stripGutenbergBoilerplate(text), text);
});

Deno.test("stripGutenbergBoilerplate ignores markers on the wrong side of the middle", () => {
  // An END marker in the first half or a START marker in the second half would cut the book in two: keep both.
  const early = `*** END OF THE PROJECT GUTENBERG EBOOK X ***\n\n${body}`;
  assertEquals(stripGutenbergBoilerplate(early), early);
  const late = `${body}\n\n*** START OF THE PROJECT GUTENBERG EBOOK X ***\nmore`;
  assertEquals(stripGutenbergBoilerplate(late), late);
});

Deno.test("stripGutenbergBoilerplate leaves plain text alone except blank edges", () => {
  assertEquals(stripGutenbergBoilerplate(`\n\n  ${body}\n\n\n`), `  ${body}`);
});
