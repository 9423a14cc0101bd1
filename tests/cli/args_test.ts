/** parseFlags and formatHelp: declared flags, config overrides, and a UsageError for each mistake. */
import { assert, assertEquals } from "../assert.ts";
import { type FlagSpecs, formatHelp, parseFlags, UsageError } from "../../lib/cli/args.ts";
import { resolveConfig } from "../../lib/train/config.ts";

const spec = {
  help: { type: "boolean", short: "h", description: "Show this help." },
  config: { type: "string", short: "c", description: "JSON config file.", valueName: "path" },
  preset: { type: "string", description: "Preset name." },
  resume: { type: "boolean", description: "Resume from the last checkpoint." },
} as const satisfies FlagSpecs;

function assertUsage(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof UsageError && pattern.test(e.message));
}

Deno.test("parseFlags reads declared string and boolean flags, long, inline and short", () => {
  const r = parseFlags(["--config", "a.json", "--preset=t1", "-h", "--resume"], spec);
  assertEquals(r.flags, { config: "a.json", preset: "t1", help: true, resume: true });
  assertEquals(r.overrides, {});
  assertEquals(r.positionals, []);
  assertEquals(parseFlags(["-c", "b.json"], spec).flags, { config: "b.json" });
  assertEquals(parseFlags([], spec).flags, {});
  assertEquals(parseFlags(["--preset=a", "--preset=b"], spec).flags.preset, "b"); // last wins
});

Deno.test("parseFlags collects --key=value overrides when allowConfigKeys, for resolveConfig to check", () => {
  const r = parseFlags(["--preset", "small", "--lr=3e-3", "--gradStats", "--dModel=128", "--name="], spec, {
    allowConfigKeys: true,
  });
  assertEquals(r.flags, { preset: "small" });
  assertEquals(r.overrides, { lr: "3e-3", gradStats: true, dModel: "128", name: "" });
  const cfg = resolveConfig([{ preset: r.flags.preset }, { ...r.overrides, name: "run1" }]);
  assertEquals([cfg.layers, cfg.lr, cfg.gradStats, cfg.dModel], [6, 0.003, true, 128]);
});

Deno.test("parseFlags rejects an unknown flag with the nearest declared name", () => {
  assertUsage(() => parseFlags(["--confg=x"], spec), /^Unknown flag "--confg": did you mean "--config"\?$/);
  assertUsage(() => parseFlags(["--HELP"], spec), /did you mean "--help"\?/);
  assertUsage(() => parseFlags(["--lr=1"], spec), /^Unknown flag "--lr": expected one of --help, --config, --preset/);
  assertUsage(() => parseFlags(["-x"], spec), /^Unknown flag "-x": expected one of -h, -c$/);
  assertUsage(() => parseFlags(["-x"], spec, { allowConfigKeys: true }), /config values take the form --key=value/);
  assertUsage(() => parseFlags(["--__proto__=1"], spec, { allowConfigKeys: true }), /Unknown flag "--__proto__"/);
});

Deno.test("parseFlags rejects missing and unexpected values", () => {
  assertUsage(() => parseFlags(["--config"], spec), /^Flag --config expects a value \(--config <path>\)$/);
  assertUsage(
    () => parseFlags(["--preset", "--lr=1"], spec),
    /^Flag --preset expects a value \(--preset <value>\), got "--lr=1"$/,
  );
  assertUsage(() => parseFlags(["--help=yes"], spec), /^Flag --help takes no value, got "yes"$/);
  assertEquals(parseFlags(["--preset=-odd"], spec).flags.preset, "-odd"); // inline values may start with "-"
});

Deno.test("parseFlags takes both --key value and --key=value, negative numbers included", () => {
  const opts = { allowConfigKeys: true };
  const spaced = parseFlags(
    ["--preset", "tiny", "--steps", "5", "--lr", "-1", "--gradStats", "--seed", "3"],
    spec,
    opts,
  );
  const inline = parseFlags(["--preset=tiny", "--steps=5", "--lr=-1", "--gradStats", "--seed=3"], spec, opts);
  assertEquals(spaced, inline);
  assertEquals(spaced.overrides, { steps: "5", lr: "-1", gradStats: true, seed: "3" });
  assertEquals(parseFlags(["--config", "-2.5"], spec).flags.config, "-2.5"); // a declared flag's negative number
  assertEquals(parseFlags(["--steps", "--lr=1"], spec, opts).overrides, { steps: true, lr: "1" }); // bare key: true
  assertUsage(
    () => parseFlags(["--config", "-x"], spec),
    /^Flag --config expects a value \(--config <path>\), got "-x"$/,
  );
});

Deno.test("parseFlags handles positionals: rejected by default, collected when allowed, after --", () => {
  assertUsage(() => parseFlags(["run.json"], spec), /^Unexpected argument "run.json"$/);
  assertUsage(
    () => parseFlags(["--lr=1", "1e-3"], spec, { allowConfigKeys: true }),
    /^Unexpected argument "1e-3": config values take the form --key=value or --key value$/,
  );
  assertUsage(
    () => parseFlags(["--lr", "1e-3"], spec, { allowConfigKeys: true, allowPositionals: true }),
    /^Cannot tell whether "1e-3" is the value of --lr: write --lr=1e-3$/,
  );
  const r = parseFlags(["a", "--help", "--", "--not-a-flag"], spec, { allowPositionals: true });
  assertEquals(r.positionals, ["a", "--not-a-flag"]);
  assertEquals(r.flags, { help: true });
});

Deno.test("formatHelp aligns flags, shows shorts, value names and the usage line", () => {
  const text = formatHelp(spec, { usage: "nk train [flags] [--key=value ...]", footer: "Config keys: see docs." });
  assertEquals(
    text,
    [
      "Usage: nk train [flags] [--key=value ...]",
      "",
      "Flags:",
      "  -h, --help              Show this help.",
      "  -c, --config <path>     JSON config file.",
      "      --preset <value>    Preset name.",
      "      --resume            Resume from the last checkpoint.",
      "",
      "Config keys: see docs.",
    ].join("\n"),
  );
  assertEquals(formatHelp({}), "Flags:");
});
