/**
 * Waiting, from inside a Deno Jupyter kernel, until the outputs a cell has published so far have gone out to the
 * frontend. Why this is needed (Deno 2.9 kernel, read from its source): `Deno.jupyter.display`/`broadcast` and
 * `console.log` only queue a message for the kernel's IOPub drainer and return at once; the drainer signs and
 * writes messages one at a time, while the shell handler sends the cell's `status: idle` as soon as evaluation
 * ends. A large figure (HMAC over its bytes, then the write) often loses that race, and stock nbclient/nbconvert
 * stop reading a cell's messages at idle, so the figure is silently dropped.
 *
 * The fix needs no client-side wait: we open our own SUB connection to the kernel's IOPub socket (ZMTP 3.0, NULL
 * security, address from the connection file on the kernel's command line), queue a marker message behind the
 * cell's outputs (a `status: busy` that frontends and nbclient ignore while the cell is busy anyway) and wait
 * until the marker arrives. The drainer is first-in first-out, and the kernel writes each message to its
 * subscribers in the order they connected, so when our late-joining connection sees the marker, every earlier
 * subscriber (the frontend) has already been sent every output queued before it.
 * @module
 */

/** Where the kernel's IOPub socket listens. */
export interface IopubAddress {
  /** Host, e.g. "127.0.0.1". */
  ip: string;
  /** TCP port. */
  port: number;
}

/**
 * The IOPub address of the kernel this process is (from `--conn FILE` on its command line, Linux /proc), or null
 * when it cannot be found (another OS, or not a kernel).
 */
export async function kernelIopubAddress(): Promise<IopubAddress | null> {
  try {
    const args = (await Deno.readTextFile("/proc/self/cmdline")).split("\0");
    const i = args.indexOf("--conn");
    if (i < 0 || !args[i + 1]) return null;
    const info = JSON.parse(await Deno.readTextFile(args[i + 1]));
    if (info.transport && info.transport !== "tcp") return null;
    if (typeof info.ip !== "string" || typeof info.iopub_port !== "number") return null;
    return { ip: info.ip, port: info.iopub_port };
  } catch {
    return null;
  }
}

const enc = new TextEncoder();

/** One short ZMTP frame: flags (bit 0 more, bit 2 command), 1-byte size, body. */
function shortFrame(body: Uint8Array, command = false): Uint8Array {
  const out = new Uint8Array(2 + body.length);
  out[0] = command ? 0x04 : 0x00;
  out[1] = body.length;
  out.set(body, 2);
  return out;
}

/** The 64-byte ZMTP 3.0 greeting for the NULL mechanism, as a client (as-server = 0). */
function greeting(): Uint8Array {
  const g = new Uint8Array(64);
  g[0] = 0xff;
  g[9] = 0x7f;
  g[10] = 3;
  g.set(enc.encode("NULL"), 12);
  return g;
}

/** The READY command announcing a SUB socket. */
function readySub(): Uint8Array {
  const name = enc.encode("READY"), prop = enc.encode("Socket-Type"), value = enc.encode("SUB");
  const body = new Uint8Array(1 + name.length + 1 + prop.length + 4 + value.length);
  let o = 0;
  body[o++] = name.length;
  body.set(name, o);
  o += name.length;
  body[o++] = prop.length;
  body.set(prop, o);
  o += prop.length;
  new DataView(body.buffer).setUint32(o, value.length);
  o += 4;
  body.set(value, o);
  return shortFrame(body, true);
}

async function readExact(conn: Deno.Conn, n: number): Promise<void> {
  const buf = new Uint8Array(n);
  for (let got = 0; got < n;) {
    const r = await conn.read(buf.subarray(got));
    if (r === null) throw new Error("IOPub connection closed during the handshake");
    got += r;
  }
}

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

let counter = 0;

/** Options of `waitForIopub`. */
export interface WaitOptions {
  /** Give up after this many milliseconds (default 5000). */
  timeoutMs?: number;
  /** Re-send the marker this often until it is seen (default 20 ms; the first may precede our subscription). */
  resendMs?: number;
}

/**
 * Connect to `addr` as a subscriber, call `publish(marker)` (which must queue a message whose bytes contain the
 * marker) until one arrives, and resolve true; false if the connection fails or nothing arrives in time.
 */
export async function waitForIopub(
  addr: IopubAddress,
  publish: (marker: string) => void,
  opts: WaitOptions = {},
): Promise<boolean> {
  const id = `nk-flush-${Deno.pid}-${Date.now().toString(36)}-${counter++}`;
  const needle = enc.encode(id);
  let conn: Deno.Conn;
  try {
    conn = await Deno.connect({ hostname: addr.ip, port: addr.port });
  } catch {
    return false;
  }
  const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
  try {
    await conn.write(greeting());
    await readExact(conn, 64);
    const ready = readySub(), subscribe = shortFrame(new Uint8Array([1])); // ZMTP 3.0 subscribe-to-all
    const hello = new Uint8Array(ready.length + subscribe.length);
    hello.set(ready);
    hello.set(subscribe, ready.length);
    await conn.write(hello);
    let seen = false, closed = false;
    const reader = (async () => {
      const buf = new Uint8Array(1 << 16);
      let carry = new Uint8Array(0);
      while (true) {
        const n = await conn.read(buf);
        if (n === null) return;
        const chunk = new Uint8Array(carry.length + n);
        chunk.set(carry);
        chunk.set(buf.subarray(0, n), carry.length);
        if (indexOf(chunk, needle) >= 0) {
          seen = true;
          return;
        }
        carry = chunk.slice(Math.max(0, chunk.length - needle.length));
      }
    })().catch(() => {}).finally(() => (closed = true));
    const deadline = Date.now() + (opts.timeoutMs ?? 5000);
    for (let k = 0; !seen && !closed && Date.now() < deadline; k++) {
      publish(`${id}-${k}`);
      await Promise.race([reader, sleep(opts.resendMs ?? 20)]);
    }
    return seen;
  } catch {
    return false;
  } finally {
    try {
      conn.close();
    } catch { /* already closed */ }
  }
}
