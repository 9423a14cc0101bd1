/** Running a module in a fresh Deno process, for tests of what a user sees on import and on failure. */

/** What a child process printed and how it ended. */
export interface ChildResult {
  /** Exit code. */
  code: number;
  /** Standard output, trimmed. */
  stdout: string;
  /** Standard error, trimmed. */
  stderr: string;
}

/**
 * Runs `code` as the stdin module of `deno run <flags> -` in `cwd` (default a fresh temporary folder with no
 * deno.json, removed afterwards), with `env` added to this process's environment.
 */
export async function runChild(
  flags: string[],
  code: string,
  opts: { env?: Record<string, string>; cwd?: string; file?: string } = {},
): Promise<ChildResult> {
  const cwd = opts.cwd ?? await Deno.makeTempDir({ prefix: "nk-child-" });
  try {
    let args = ["run", "--no-lock", ...flags, "-"];
    if (opts.file) {
      await Deno.writeTextFile(`${cwd}/${opts.file}`, code);
      args = ["run", "--no-lock", ...flags, opts.file];
    }
    const cmd = new Deno.Command(Deno.execPath(), {
      args,
      cwd,
      env: { NO_COLOR: "1", ...opts.env },
      stdin: opts.file ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    });
    const proc = cmd.spawn();
    if (!opts.file) {
      const w = proc.stdin.getWriter();
      await w.write(new TextEncoder().encode(code));
      await w.close();
    }
    const out = await proc.output();
    const text = (b: Uint8Array) => new TextDecoder().decode(b).trim();
    return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
  } finally {
    if (!opts.cwd) await Deno.remove(cwd, { recursive: true });
  }
}

/** The repository's mod.ts as a file: URL. */
export const MOD_URL: string = import.meta.resolve("../../mod.ts");
