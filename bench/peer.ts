/**
 * The PyTorch peer process (`bench/torch_peer.py` under the system Python): started once per bench run, it sets
 * up a case on request and times `iters` iterations of it, so its reps interleave with ours (see harness.ts).
 * @module
 */
import type { Runner } from "./harness.ts";
import type { TrainConfig } from "../lib/train/config.ts";
import { paramCount } from "../lib/model/sizing.ts";

/** The Python that runs the PyTorch peer: the system one, where Debian's python3-torch lives. */
export const PYTHON = "/usr/bin/python3";

/** The two PyTorch models (bench/torch_nanogpt.py's `build`). */
export const TORCH_STYLES = ["fairseq", "nanogpt"] as const;

/**
 * The peer's parameters for the same model, batch and gradient accumulation, with our parameter count for the peer
 * to check its model against.
 */
export function torchParams(cfg: TrainConfig, style: typeof TORCH_STYLES[number]): Record<string, unknown> {
  const { vocabSize: vocab, dModel: d, heads, dFF: dff, layers, contextLength: context, batchSize: batch } = cfg;
  const nf = cfg.arch === "normformer";
  const same = cfg.arch !== "postln" && [cfg.postAttnNorm, cfg.headScale, cfg.ffnNorm].every((on) => on === nf) &&
    !cfg.residScale && (!nf || cfg.headScalePlacement === "postOutProj") && cfg.positions === "sinusoidal" &&
    cfg.activation === "gelu";
  if (!same) {
    throw new Error(
      `Cannot compare arch "${cfg.arch}" with these switches: the PyTorch models are Pre-LN and NormFormer ` +
        `(post-attention LN, HeadScale after out_proj, FFN LN), GELU, sinusoids, no residScale`,
    );
  }
  return {
    vocab,
    d,
    heads,
    dff,
    layers,
    context,
    batch,
    arch: cfg.arch,
    style,
    params: paramCount(cfg).total,
    update_freq: cfg.updateFreq ?? 1,
    dropout: [cfg.dropout, cfg.attentionDropout, cfg.activationDropout],
  };
}

/** What the peer reports about itself at start. */
export interface PeerInfo {
  peer: string;
  version: string;
  threads: number;
  openblasThreads: number | null;
  cpuCapability: string | null;
  groups: string[];
}

/** A running peer: one case at a time (a new `runner` replaces the previous case). */
export class TorchPeer {
  #proc: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #lines: AsyncIterator<string>;
  info!: PeerInfo;

  private constructor(proc: Deno.ChildProcess) {
    this.#proc = proc;
    this.#writer = proc.stdin.getWriter();
    this.#lines = lines(proc.stdout.pipeThrough(new TextDecoderStream()))[Symbol.asyncIterator]();
  }

  /** Starts the peer with `threads`; a string is the reason there is none. */
  static async start(threads: number): Promise<TorchPeer | string> {
    let probe: Deno.CommandOutput;
    try {
      probe = await new Deno.Command(PYTHON, { args: ["-c", "import torch"], stdout: "null", stderr: "piped" })
        .output();
    } catch (e) {
      return `cannot run "${PYTHON}": ${e instanceof Error ? e.message : String(e)}`;
    }
    if (!probe.success) {
      const last = new TextDecoder().decode(probe.stderr).trim().split("\n").pop();
      return `"${PYTHON} -c 'import torch'" failed: ${last}`;
    }
    const script = new URL("./torch_peer.py", import.meta.url).pathname;
    const args = [script, `--threads=${threads}`];
    const proc = new Deno.Command(PYTHON, { args, stdin: "piped", stdout: "piped", stderr: "inherit" }).spawn();
    const peer = new TorchPeer(proc);
    const first = await peer.#lines.next();
    if (first.done) return "torch_peer.py exited before reporting itself";
    peer.info = JSON.parse(first.value);
    return peer;
  }

  async #ask(req: unknown): Promise<any> {
    await this.#writer.write(new TextEncoder().encode(JSON.stringify(req) + "\n"));
    const res = await this.#lines.next();
    if (res.done) throw new Error(`torch_peer.py exited while answering ${JSON.stringify(req)}`);
    const msg = JSON.parse(res.value);
    if (msg.error) throw new Error(`torch_peer.py failed on ${JSON.stringify(req)}: ${msg.error}`);
    return msg;
  }

  /**
   * Sets up `group` with `params` in the peer; the runner's times are measured inside Python. A new runner
   * replaces the previous one, unless `id` names a case to keep beside the others (free it with `drop`).
   */
  async runner(name: string, group: string, params: Record<string, unknown>, id = ""): Promise<Runner> {
    await this.#ask({ op: "setup", group, params, id });
    return { name, run: async (iters) => (await this.#ask({ op: "run", iters, id })).ms };
  }

  /** Frees the case kept under `id`. */
  async drop(id: string): Promise<void> {
    await this.#ask({ op: "drop", id });
  }

  /** Asks the peer to quit and waits for it. */
  async close(): Promise<void> {
    await this.#writer.write(new TextEncoder().encode(JSON.stringify({ op: "quit" }) + "\n")).catch(() => {});
    await this.#writer.close().catch(() => {});
    await this.#proc.status;
  }
}

async function* lines(text: ReadableStream<string>): AsyncGenerator<string> {
  let buf = "";
  for await (const chunk of text) {
    buf += chunk;
    for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
      yield buf.slice(0, i);
      buf = buf.slice(i + 1);
    }
  }
  if (buf) yield buf;
}
