/**
 * Where a CPU training step's memory goes: wraps the CPU backend's `alloc`/`free`/`dispatch` to follow the live
 * bytes of the step's tensors, runs updates of a preset and arch (bench/step.ts, `updateFreq` passes each), and
 * prints the live bytes, the WebAssembly heap and the process RSS as each phase starts, then the peak of live bytes
 * with the tensors alive at that moment grouped by the phase and op that made them ("forward:softmax" is every
 * live output of a forward softmax). Live bytes are what the tensors hold; the heap never shrinks, and the RSS
 * adds the runtime (V8, Deno, the BLAS) to the heap pages ever touched.
 *
 *     deno run -A bench/profile_memory.ts --preset=t1 --arch=normformer --batchSize=16 --updateFreq=2 [--steps=2]
 *                                         [--top=15] [--<config key>=<value> …]
 *
 * Legend: B batch, T time.
 * @module
 */
import type { Backend, DeviceBuffer } from "../lib/backend/backend.ts";
import { createCpuBackend } from "../lib/backend/cpu/mod.ts";
import { heapStats } from "../lib/backend/cpu/simd/heap.ts";
import { paramCount } from "../lib/model/sizing.ts";
import { resolveConfig } from "../lib/train/config.ts";
import { makeTrainStep, type Phase } from "./step.ts";
import { splitArgs } from "./split_args.ts";

const OWN = ["steps", "top"];
const MiB = 2 ** 20;
const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

/** A field of /proc/self/status in bytes (Linux). */
function procStatus(key: "VmRSS" | "VmHWM"): number {
  const m = Deno.readTextFileSync("/proc/self/status").match(new RegExp(`^${key}:\\s*(\\d+) kB`, "m"));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** Live bytes of `be`'s buffers, each tagged with the phase and op that made it; the peak and what was alive then. */
class LiveTracker {
  live = 0;
  peak = 0;
  peakAt = "";
  peakMix = new Map<string, number>();
  #bytes = new Map<DeviceBuffer, number>();
  #tag = new Map<DeviceBuffer, string>();

  /** `be` with its allocations followed; `where()` names the current phase. */
  wrap(be: Backend, where: () => string): Backend {
    return {
      ...be,
      alloc: (size, dtype) => {
        const b = be.alloc(size, dtype);
        this.#bytes.set(b, size * 4); // f32 and i32 alike
        this.#tag.set(b, `${where()}:alloc`);
        this.live += size * 4;
        return b;
      },
      free: (b) => {
        this.live -= this.#bytes.get(b) ?? 0;
        this.#bytes.delete(b);
        this.#tag.delete(b);
        be.free(b);
      },
      dispatch: (op, outs, ins, attrs) => {
        for (const o of outs) if (this.#tag.get(o)?.endsWith(":alloc")) this.#tag.set(o, `${where()}:${op}`);
        be.dispatch(op, outs, ins, attrs);
        if (this.live > this.peak) this.#mark(`${where()}, after ${op}`);
      },
    };
  }

  #mark(at: string): void {
    this.peak = this.live;
    this.peakAt = at;
    this.peakMix.clear();
    for (const [b, n] of this.#bytes) {
      this.peakMix.set(this.#tag.get(b)!, (this.peakMix.get(this.#tag.get(b)!) ?? 0) + n);
    }
  }
}

async function main(): Promise<void> {
  const { flags, config } = splitArgs(OWN);
  const cfg = resolveConfig([{ preset: "small", ...config }]);
  const steps = Number(flags.steps ?? 2), top = Number(flags.top ?? 15);
  const cpu = createCpuBackend();
  const base = procStatus("VmRSS");
  const tracker = new LiveTracker();
  let pass = 0, phase: Phase | "build" = "build";
  const lines: string[] = [];
  const step = makeTrainStep(tracker.wrap(cpu, () => phase), cfg, (p) => {
    const heap = heapStats();
    lines.push(
      `pass ${pass} ${p.padEnd(9)} live ${mib(tracker.live)}, heap ${mib(heap.used)} used of ${mib(heap.size)}, ` +
        `RSS ${mib(procStatus("VmRSS"))}, peak RSS ${mib(procStatus("VmHWM"))}`,
    );
    phase = p;
    if (p === "read") pass++;
  });
  const P = paramCount(cfg).total;
  console.log(
    `memory profile: preset ${cfg.preset}, arch ${cfg.arch}, B ${cfg.batchSize} × updateFreq ${cfg.updateFreq ?? 1}, ` +
      `T ${cfg.contextLength}; P ${P} (${mib(4 * P)} a copy); RSS before the model ${mib(base)}; ` +
      `model and optimizer ${mib(tracker.live)}`,
  );
  for (let i = 0; i < steps; i++) await step.run();
  step.dispose();
  console.log(lines.join("\n"));
  console.log(`peak live ${mib(tracker.peak)} (${tracker.peakAt}); peak RSS ${mib(procStatus("VmHWM"))}`);
  const mix = [...tracker.peakMix].sort((a, b) => b[1] - a[1]);
  for (const [tag, bytes] of mix.slice(0, top)) console.log(`  ${tag.padEnd(34)}${mib(bytes).padStart(12)}`);
  Deno.exit(0); // worker threads must not keep the process alive
}

if (import.meta.main) await main();
