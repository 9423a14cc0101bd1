/**
 * Exit-time stress (issue 14, item 5: glibc's "corrupted size vs. prev_size in fastbins" after the summary line of
 * a full test run). Each variant of `_exit_stress.ts` runs as its own process (a natural exit, `Deno.exit(0)` where
 * the GPU work is settled, `exitWhenIdle` where it is not), then `deno test --parallel` runs a few generated modules
 * that use WebGPU and CPU worker threads in one process, as the test task does. Each must end with status 0 and
 * nothing from glibc, a signal or a panic on stderr. Prints what it ran.
 *
 * The crash it guards against needs many runs to show (9 of 300 `deno test --parallel` runs before the fix, when
 * Deno's WebGPU also loaded the EGL/GL stack): env NK_EXIT_STRESS_ROUNDS=N repeats everything N times. The first
 * test checks the fix itself, at once: a child that opens a device on Linux loads no EGL/GL library.
 * @module
 */
import { assert } from "../assert.ts";
import { LINUX_WGPU_BACKENDS } from "../../lib/backend/webgpu/adapter.ts";
import { VARIANTS } from "./_exit_stress.ts";

const HARNESS = new URL("./_exit_stress.ts", import.meta.url);
const ROUNDS = Math.max(1, Number(Deno.env.get("NK_EXIT_STRESS_ROUNDS") ?? 1) || 1);
/** What a crash at exit leaves on stderr. */
const CRASH =
  /corrupted|double free|free\(\)|malloc\(\)|malloc_consolidate|Segmentation fault|Aborted|core dumped|panicked|RUST_BACKTRACE|SIGSEGV|SIGABRT/;

/**
 * The environment of a child: this process's, without a DENO_WEBGPU_BACKEND equal to the library's default (the
 * library may have set it in this process already: a child must choose its wgpu backends itself, so a regression
 * there shows).
 */
function childEnv(): Record<string, string> {
  const env = Deno.env.toObject();
  if (env.DENO_WEBGPU_BACKEND === LINUX_WGPU_BACKENDS) delete env.DENO_WEBGPU_BACKEND;
  return { ...env, NO_COLOR: "1" };
}

interface Ran {
  what: string;
  code: number;
  signal: string | null;
  stdout: string;
  stderr: string;
  ms: number;
}

async function run(what: string, args: string[]): Promise<Ran> {
  const t0 = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    env: childEnv(),
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return {
    what,
    code: out.code,
    signal: out.signal,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
    ms: performance.now() - t0,
  };
}

/** Run `jobs` two at a time (the machine this was tuned on has two cores). */
async function pool(jobs: (() => Promise<Ran>)[]): Promise<Ran[]> {
  const results: Ran[] = [];
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) results.push(await jobs[next++]());
  };
  await Promise.all([worker(), worker()]);
  return results;
}

function check(r: Ran, done: RegExp): void {
  const tail = (s: string) => s.trim().split("\n").slice(-12).join("\n");
  const what = `${r.what}: status ${r.code}${r.signal ? `, signal ${r.signal}` : ""}\n${tail(r.stderr)}`;
  assert.ok(!CRASH.test(r.stderr), `crash text on stderr of ${what}`);
  assert.ok(r.code === 0 && r.signal === null, what);
  assert.ok(done.test(r.stdout), `${r.what} did not finish: ${tail(r.stdout)}\n${tail(r.stderr)}`);
}

/** Whether a WebGPU adapter exists, asked of a child so that this process never opens a device. */
async function gpuReason(): Promise<string | null> {
  const r = await run("gpu-destroy", ["run", "-A", HARNESS.href, "gpu-destroy"]);
  if (r.code === 0) return null;
  const line = r.stderr.split("\n").find((l) => /adapter|navigator\.gpu|WebGPU/.test(l));
  if (line && !CRASH.test(r.stderr)) return line.trim();
  check(r, /^done$/m); // anything else is a failure
  return null;
}

Deno.test({
  name: "WebGPU on Linux loads no EGL/GL stack unless DENO_WEBGPU_BACKEND asks for GL (the cause of issue 14, item 5)",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    // In a child with DENO_WEBGPU_BACKEND unset (or set by the caller): open a device, list the libraries loaded.
    const mod = JSON.stringify(new URL("../../lib/backend/webgpu/mod.ts", import.meta.url).href);
    const code = `import { createWebGpuBackend } from ${mod};
      let error = null;
      try { (await createWebGpuBackend()).destroy(); } catch (e) { error = e.message; }
      const maps = Deno.readTextFileSync("/proc/self/maps");
      const libs = ["libEGL", "libGLdispatch", "swrast_dri", "libvulkan_lvp"].filter((l) => maps.includes(l));
      console.log(JSON.stringify({ env: Deno.env.get("DENO_WEBGPU_BACKEND") ?? null, libs, error }));`;
    const child = async (backends?: string) => {
      const env = childEnv();
      delete env.DENO_WEBGPU_BACKEND;
      if (backends) env.DENO_WEBGPU_BACKEND = backends;
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["eval", code],
        env,
        clearEnv: true,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stdout = new TextDecoder().decode(out.stdout), stderr = new TextDecoder().decode(out.stderr);
      assert.ok(out.success, `child exited with ${out.code}: ${stderr}`);
      return JSON.parse(stdout.trim().split("\n").at(-1)!) as { env: string; libs: string[]; error: string | null };
    };
    const vulkan = await child();
    console.log(
      `default: DENO_WEBGPU_BACKEND=${vulkan.env}, loaded ${vulkan.libs.join(", ") || "nothing"}` +
        (vulkan.error ? ` (${vulkan.error})` : ""),
    );
    assert.equal(vulkan.env, LINUX_WGPU_BACKENDS);
    assert.deepEqual(vulkan.libs.filter((l) => l !== "libvulkan_lvp"), [], "EGL/GL libraries were loaded");
    const asked = await child("vulkan,gl"); // the caller's choice wins
    console.log(`DENO_WEBGPU_BACKEND=vulkan,gl: loaded ${asked.libs.join(", ") || "nothing"}`);
    assert.equal(asked.env, "vulkan,gl");
  },
});

/** Plain `deno run` variants: [variant, exit mode]. The pending ones never end with a bare `Deno.exit`. */
const RUNS: [string, "" | "--exit" | "--exit-idle"][] = [
  ["cpu-starting", ""],
  ["cpu-starting", "--exit"],
  ["cpu-just-done", ""],
  ["cpu-just-done", "--exit"],
  ["cpu-train", ""],
  ["gpu-destroy", "--exit"],
  ["gpu-keep", ""],
  ["gpu-keep", "--exit"],
  ["gpu-many", ""],
  ["gpu-pending-submit", ""],
  ["gpu-pending-submit", "--exit-idle"],
  ["gpu-pending-map", ""],
  ["gpu-pending-map", "--exit-idle"],
  ["gpu-pending-map-destroy", ""],
  ["both", ""],
  ["both", "--exit"],
  ["both-pending", ""],
  ["both-pending", "--exit-idle"],
  ["nested-cpu", ""],
  ["nested-both", ""],
  ["nested-both-terminated", ""],
];

/** Modules for one `deno test --parallel` run: each runs a variant inside a test, in its own isolate. */
const MODULES = ["gpu-keep", "gpu-pending-submit", "both", "both-pending", "cpu-just-done", "cpu-starting"];

Deno.test({
  name: "exit stress: variants exit cleanly, alone and under deno test --parallel (issue 14, item 5)",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const t0 = performance.now();
    const reason = await gpuReason();
    if (reason) console.log(`exit stress: WebGPU variants skipped: ${reason}`);
    const runs = RUNS.filter(([v]) => !reason || !VARIANTS[v].gpu);
    const jobs: (() => Promise<Ran>)[] = [];
    for (let k = 0; k < ROUNDS; k++) {
      for (const [v, mode] of runs) {
        const args = [
          "run",
          "-A",
          HARNESS.href,
          v,
          ...(v === "cpu-train" ? ["--rounds=2"] : []),
          ...(mode ? [mode] : []),
        ];
        jobs.push(() => run(`${v}${mode ? ` ${mode}` : ""}`, args));
      }
    }
    for (const r of await pool(jobs)) check(r, /^done$/m);

    const dir = await Deno.makeTempDir({ prefix: "nk-exit-stress-" });
    try {
      const modules = MODULES.filter((v) => !reason || !VARIANTS[v].gpu);
      for (const v of modules) {
        await Deno.writeTextFile(
          `${dir}/${v}_test.ts`,
          `import { runVariant } from ${JSON.stringify(HARNESS.href)};\n` +
            `Deno.test({ name: ${JSON.stringify(v)}, sanitizeOps: false, sanitizeResources: false, ` +
            `fn: () => runVariant(${JSON.stringify(v)}) });\n`,
        );
      }
      for (let k = 0; k < ROUNDS; k++) {
        const r = await run("deno test --parallel", ["test", "-A", "--parallel", "--no-check", dir]);
        check(r, new RegExp(`^ok \\| ${modules.length} passed \\| 0 failed`, "m"));
      }
      const seconds = ((performance.now() - t0) / 1000).toFixed(1);
      console.log(
        `exit stress: ${jobs.length + 1} probe and variant processes (${runs.length} variant × exit mode, ` +
          `${ROUNDS} round${ROUNDS > 1 ? "s" : ""}: ${runs.map(([v, m]) => m ? `${v} ${m}` : v).join(", ")}) ` +
          `and ${ROUNDS} deno test --parallel run${ROUNDS > 1 ? "s" : ""} of ${modules.length} modules ` +
          `(${modules.join(", ")}) exited cleanly in ${seconds} s`,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
