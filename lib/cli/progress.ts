/**
 * Progress display for long work: a one-line bar redrawn in place on a TTY, or one plain line per interval
 * otherwise (CI logs, pipes). Writes to stderr so stdout stays clean for `--json` output.
 * @module
 */

/** Format seconds as `1h02m`, `3m05s`, `42s` or, under 10 s, `4.2s`. */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return "?";
  if (s < 9.95) return `${Math.max(0, s).toFixed(1)}s`;
  s = Math.round(s);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${s}s`;
}

/** A progress reporter for training steps. */
export class ProgressBar {
  #tty: boolean;
  #lastLine = 0;
  #enc = new TextEncoder();
  constructor(readonly total: number, readonly every = 10, tty = Deno.stderr.isTerminal()) {
    this.#tty = tty;
  }

  /** Report step `step` with its loss, lr, throughput and ETA. */
  update(p: { step: number; loss: number; lr: number; tokensPerSecond: number; etaSeconds: number }): void {
    const pct = (100 * p.step / this.total).toFixed(0).padStart(3);
    const text = `step ${p.step}/${this.total} ${pct}% loss ${p.loss.toFixed(4)} lr ${p.lr.toExponential(2)} ` +
      `${Math.round(p.tokensPerSecond)} tok/s eta ${formatDuration(p.etaSeconds)}`;
    if (this.#tty) {
      const width = 24, filled = Math.round(width * p.step / this.total);
      const bar = "█".repeat(filled) + "░".repeat(width - filled);
      Deno.stderr.writeSync(this.#enc.encode(`\r${bar} ${text}\x1b[K`));
    } else if (p.step === this.total || p.step - this.#lastLine >= this.every) {
      this.#lastLine = p.step;
      Deno.stderr.writeSync(this.#enc.encode(text + "\n"));
    }
  }

  /** Print a message on its own line (clearing the bar on a TTY). */
  log(message: string): void {
    Deno.stderr.writeSync(this.#enc.encode(`${this.#tty ? "\r\x1b[K" : ""}${message}\n`));
  }

  /** End the bar's line. */
  done(): void {
    if (this.#tty) Deno.stderr.writeSync(this.#enc.encode("\n"));
  }
}

/**
 * A progress line for work counted in units (evaluation batches, sampled tokens): redrawn in place on a TTY, else
 * one plain line at most every `everySeconds` (and at the end), with the rate and the time left.
 */
export class ProgressLine {
  #tty: boolean;
  #enc = new TextEncoder();
  #start = performance.now();
  #lastPrint = this.#start;
  constructor(
    readonly label: string,
    readonly total: number,
    readonly everySeconds = 5,
    tty = Deno.stderr.isTerminal(),
  ) {
    this.#tty = tty;
  }

  /** Report `done` of `total` units. */
  update(done: number, unit = ""): void {
    const now = performance.now(), elapsed = (now - this.#start) / 1000;
    if (!this.#tty && done < this.total && now - this.#lastPrint < this.everySeconds * 1000) return;
    this.#lastPrint = now;
    const eta = done > 0 ? (this.total - done) * elapsed / done : Infinity;
    const text = `${this.label} ${done}/${this.total}${unit} ${(100 * done / this.total).toFixed(0)}%, ` +
      `${formatDuration(elapsed)} elapsed, eta ${formatDuration(eta)}`;
    Deno.stderr.writeSync(this.#enc.encode(this.#tty ? `\r${text}\x1b[K` : `${text}\n`));
  }

  /** End the line on a TTY. */
  done(): void {
    if (this.#tty) Deno.stderr.writeSync(this.#enc.encode("\n"));
  }
}
