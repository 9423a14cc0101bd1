/**
 * `deno task sample --checkpoint DIR --prompt "..."`: continue a prompt with temperature sampling from a checkpoint.
 * @module
 */
import { formatHelp, parseFlags, UsageError } from "./args.ts";
import { modelFromCheckpoint, runMain, startBackend } from "./common.ts";
import { getTokenizer } from "../data/tokenizers.ts";
import { generate } from "../train/generate.ts";
import { Rng } from "../core/rng.ts";
import type { BackendName, Provider } from "../backend/select.ts";

const SPEC = {
  help: { type: "boolean", short: "h", description: "Show this help." },
  checkpoint: { type: "string", description: "Run folder (runs/<name>) or its checkpoint/.", valueName: "dir" },
  prompt: { type: "string", description: "Text to continue (default: empty line).", valueName: "text" },
  tokens: { type: "string", description: "Tokens to generate (default 200).", valueName: "n" },
  temperature: { type: "string", description: "Sampling temperature ≥ 0; 0 is greedy (default 0.8).", valueName: "t" },
  seed: { type: "string", description: "Sampling seed (default 0).", valueName: "n" },
  backend: { type: "string", description: "cpu | webgpu | auto.", valueName: "name" },
} as const;

function num(name: string, v: string | undefined, def: number, ok: (x: number) => boolean, expected: string): number {
  if (v === undefined) return def;
  const x = Number(v);
  if (!ok(x)) throw new UsageError(`Invalid --${name} "${v}": expected ${expected}`);
  return x;
}

await runMain(async () => {
  const { flags } = parseFlags(Deno.args, SPEC);
  if (flags.help) return console.log(formatHelp(SPEC, { usage: 'deno task sample --checkpoint DIR --prompt "..."' }));
  if (!flags.checkpoint) throw new UsageError("Missing --checkpoint DIR");
  const n = num("tokens", flags.tokens, 200, (x) => Number.isInteger(x) && x > 0, "an integer ≥ 1");
  const temperature = num(
    "temperature",
    flags.temperature,
    0.8,
    (x) => x >= 0 && Number.isFinite(x),
    "a number ≥ 0 (0 is greedy)",
  );
  const seed = num("seed", flags.seed, 0, Number.isInteger, "an integer");
  await startBackend({ backend: (flags.backend ?? "auto") as BackendName, provider: "deno" as Provider });
  const { model, config } = await modelFromCheckpoint(flags.checkpoint);
  const tokenizer = await getTokenizer(config.tokenizer);
  const prompt = flags.prompt ?? "\n";
  // Stream: print each token as it is drawn, holding back ids that end inside a UTF-8 character (U+FFFD).
  const enc = new TextEncoder();
  const write = (s: string) => s && Deno.stdout.writeSync(enc.encode(s));
  write(prompt);
  let pending: number[] = [];
  await generate(model, Array.from(tokenizer.encode(prompt)), {
    tokens: n,
    temperature,
    rng: new Rng(seed),
    onToken: (id) => {
      pending.push(id);
      const text = tokenizer.decode(pending);
      if (text.endsWith("\uFFFD") && pending.length < 4) return;
      write(text);
      pending = [];
    },
  });
  write(tokenizer.decode(pending) + "\n");
});
