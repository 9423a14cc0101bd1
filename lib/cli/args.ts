/**
 * Command-line flags: the one module that parses them. It wraps `node:util`'s `parseArgs` (JSR's `@std/cli` is
 * unreachable here); swapping in `jsr:@std/cli` later means editing this file only. Besides the declared flags
 * it can collect `--key=value` overrides for `resolveConfig`, which checks them. Every problem is a
 * `UsageError`, so a CLI prints one line and exits with status 2.
 * @module
 */
import { parseArgs } from "node:util";
import { nearest } from "../train/nearest.ts";

/** A mistake in the command line (unknown flag, missing value, stray argument). */
export class UsageError extends Error {
  override name = "UsageError";
}

/** One declared flag. */
export interface FlagSpec {
  /** "string" takes a value (`--out runs` or `--out=runs`); "boolean" takes none (`--help`). */
  type: "string" | "boolean";
  /** One-letter alias (`-h`). */
  short?: string;
  /** One line for `--help`. */
  description: string;
  /** Placeholder for the value in `--help` (default "value"). */
  valueName?: string;
}

/** Declared flags by long name. */
export type FlagSpecs = Record<string, FlagSpec>;

/** The parsed value type of each declared flag. */
export type FlagValues<S extends FlagSpecs> = { [K in keyof S]?: S[K]["type"] extends "string" ? string : boolean };

/** Options of `parseFlags`. */
export interface ParseFlagsOptions {
  /** Collect undeclared `--key=value` (and bare `--key`, meaning true) as config overrides instead of failing. */
  allowConfigKeys?: boolean;
  /** Accept arguments that are not flags (default false). */
  allowPositionals?: boolean;
}

/** What `parseFlags` found. */
export interface ParsedFlags<S extends FlagSpecs> {
  /** Declared flags that were given (the last one wins when repeated). */
  flags: FlagValues<S>;
  /** Undeclared `--key=value` pairs, as strings (true for a bare `--key`), for `resolveConfig` to check. */
  overrides: Record<string, string | boolean>;
  /** Arguments that are not flags, and everything after `--`. */
  positionals: string[];
}

const OVERRIDE_FORM = "config values take the form --key=value or --key value";

/**
 * Join `--name VALUE` into `--name=VALUE` where `parseArgs` would split them wrongly: a negative number after a
 * declared string flag or a config key (`--tokens -3`, `--lr -1`), and any non-flag after a config key when there
 * are no positionals (`--steps 5`). Everything after `--` is left alone.
 */
function joinValues(argv: readonly string[], spec: FlagSpecs, opts: ParseFlagsOptions): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i], next = argv[i + 1];
    if (a === "--") {
      out.push(...argv.slice(i));
      break;
    }
    const name = /^--([^=]+)$/.exec(a)?.[1];
    if (name !== undefined && next !== undefined) {
      const declared = Object.hasOwn(spec, name) ? spec[name] : undefined;
      const negative = /^-(\d|\.\d|Infinity$)/.test(next);
      const joins = declared
        ? declared.type === "string" && negative
        : opts.allowConfigKeys && (negative || (!next.startsWith("-") && !opts.allowPositionals));
      if (joins) {
        out.push(`${a}=${next}`);
        i++;
        continue;
      }
    }
    out.push(a);
  }
  return out;
}

/**
 * Parse `argv` against `spec`. Unknown flags fail with the nearest declared name unless `allowConfigKeys`, which
 * collects them as overrides.
 * @example
 * ```ts
 * import { parseFlags } from "./args.ts";
 * const spec = {
 *   help: { type: "boolean", short: "h", description: "Show this help." },
 *   config: { type: "string", description: "JSON config file.", valueName: "path" },
 * } as const;
 * const { flags, overrides } = parseFlags(["--config", "exp.json", "--lr=3e-3"], spec, { allowConfigKeys: true });
 * console.log(flags.config, overrides); // exp.json { lr: "3e-3" }
 * try {
 *   parseFlags(["--confg=x.json"], spec);
 * } catch (e) {
 *   console.log((e as Error).message); // Unknown flag "--confg": did you mean "--config"?
 * }
 * ```
 */
export function parseFlags<S extends FlagSpecs>(
  argv: readonly string[],
  spec: S,
  opts: ParseFlagsOptions = {},
): ParsedFlags<S> {
  const options = Object.fromEntries(
    Object.entries(spec).map(([name, f]) => [name, f.short ? { type: f.type, short: f.short } : { type: f.type }]),
  );
  const { tokens } = parseArgs({
    args: joinValues(argv, spec, opts),
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const flags: Record<string, string | boolean> = {};
  const overrides: Record<string, string | boolean> = {};
  const positionals: string[] = [];
  tokens.forEach((tok, i) => {
    if (tok.kind === "option-terminator") return;
    if (tok.kind === "positional") {
      if (!opts.allowPositionals) {
        const hint = opts.allowConfigKeys ? `: ${OVERRIDE_FORM}` : "";
        throw new UsageError(`Unexpected argument "${tok.value}"${hint}`);
      }
      positionals.push(tok.value);
      return;
    }
    const declared = Object.hasOwn(spec, tok.name) ? spec[tok.name] : undefined;
    if (declared?.type === "string") {
      if (tok.value === undefined || (!tok.inlineValue && tok.value.startsWith("-"))) {
        const got = tok.value === undefined ? "" : `, got "${tok.value}"`;
        const form = `${tok.rawName} <${declared.valueName ?? "value"}>`;
        throw new UsageError(`Flag ${tok.rawName} expects a value (${form})${got}`);
      }
      flags[tok.name] = tok.value;
    } else if (declared) {
      if (tok.inlineValue) throw new UsageError(`Flag ${tok.rawName} takes no value, got "${tok.value}"`);
      flags[tok.name] = true;
    } else if (opts.allowConfigKeys && tok.rawName.startsWith("--") && tok.name !== "__proto__") {
      const next = tokens[i + 1];
      if (opts.allowPositionals && tok.value === undefined && next?.kind === "positional") {
        throw new UsageError(
          `Cannot tell whether "${next.value}" is the value of ${tok.rawName}: write ${tok.rawName}=${next.value}`,
        );
      }
      overrides[tok.name] = tok.value ?? true;
    } else throw unknownFlag(tok.rawName, spec, opts);
  });
  return { flags: flags as FlagValues<S>, overrides, positionals };
}

function unknownFlag(raw: string, spec: FlagSpecs, opts: ParseFlagsOptions): UsageError {
  const long = raw.startsWith("--");
  const names = long
    ? Object.keys(spec).map((n) => `--${n}`)
    : Object.values(spec).flatMap((f) => (f.short ? [`-${f.short}`] : []));
  const hint = long ? nearest(raw, names) : undefined;
  const tail = hint
    ? `: did you mean "${hint}"?`
    : !long && opts.allowConfigKeys
    ? `: ${OVERRIDE_FORM}`
    : names.length
    ? `: expected one of ${names.join(", ")}`
    : "";
  return new UsageError(`Unknown flag "${raw}"${tail}`);
}

/**
 * A `--help` text: the usage line, then one aligned line per flag.
 * @example
 * ```ts
 * import { formatHelp } from "./args.ts";
 * const spec = {
 *   help: { type: "boolean", short: "h", description: "Show this help." },
 *   config: { type: "string", description: "JSON config file.", valueName: "path" },
 * } as const;
 * console.log(formatHelp(spec, { usage: "nk train [flags] [--key=value ...]" }));
 * // Usage: nk train [flags] [--key=value ...]
 * //
 * // Flags:
 * //   -h, --help             Show this help.
 * //       --config <path>    JSON config file.
 * ```
 */
export function formatHelp(spec: FlagSpecs, opts: { usage?: string; footer?: string } = {}): string {
  const rows = Object.entries(spec).map(([name, f]) => {
    const value = f.type === "string" ? ` <${f.valueName ?? "value"}>` : "";
    return [`${f.short ? `-${f.short}, ` : "    "}--${name}${value}`, f.description];
  });
  const width = Math.max(0, ...rows.map(([left]) => left.length)) + 4;
  const lines = opts.usage ? [`Usage: ${opts.usage}`, ""] : [];
  lines.push("Flags:", ...rows.map(([left, desc]) => `  ${left.padEnd(width)}${desc}`.trimEnd()));
  if (opts.footer) lines.push("", opts.footer);
  return lines.join("\n");
}
