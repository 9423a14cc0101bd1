/**
 * The profilers' arguments: `--key=value` only, split into the script's own flags and config keys (which
 * `resolveConfig` then checks, naming any unknown key).
 * @module
 */

/** Split `args` into flags named in `own` and the rest (config keys); a bare `--key` is "true". */
export function splitArgs(
  own: readonly string[],
  args: readonly string[] = Deno.args,
): { flags: Record<string, string>; config: Record<string, string> } {
  const flags: Record<string, string> = {}, config: Record<string, string> = {};
  for (const arg of args) {
    const m = arg.match(/^--([^=]+)(?:=(.*))?$/);
    if (!m) throw new Error(`Unexpected argument "${arg}": use --key=value`);
    (own.includes(m[1]) ? flags : config)[m[1]] = m[2] ?? "true";
  }
  return { flags, config };
}
