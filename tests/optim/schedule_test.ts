/** Learning-rate schedules: exact values at the boundaries, and errors naming the bad field. */
import { assert, assertEquals, assertThrows } from "../assert.ts";
import { checkSchedule, lrAt, type ScheduleConfig } from "../../lib/optim/schedule.ts";

const linear: ScheduleConfig = { schedule: "linear", lr: 1e-3, warmup: 10, steps: 110 };

Deno.test("lrAt linear: warm-up from 0 to the peak at update `warmup`, then linear decay to endLr at `steps`", () => {
  assertEquals(lrAt(0, linear), 0);
  assertEquals(lrAt(1, linear), (1 / 10) * 1e-3);
  assertEquals(lrAt(5, linear), 0.5 * 1e-3);
  assertEquals(lrAt(10, linear), 1e-3);
  assertEquals(lrAt(11, linear), 1e-3 * (1 - 1 / 100));
  assertEquals(lrAt(60, linear), 1e-3 * 0.5);
  assertEquals(lrAt(109, linear), 1e-3 * (1 - 99 / 100));
  assertEquals(lrAt(110, linear), 0);
  assertEquals(lrAt(500, linear), 0);
});

Deno.test("lrAt linear with endLr decays to endLr and stays there", () => {
  const cfg = { ...linear, endLr: 1e-4 };
  assertEquals(lrAt(10, cfg), 1e-3);
  assertEquals(lrAt(60, cfg), (1e-3 - 1e-4) * 0.5 + 1e-4);
  assertEquals(lrAt(110, cfg), 1e-4);
  assertEquals(lrAt(111, cfg), 1e-4);
});

Deno.test("lrAt linear with no warm-up starts at the peak before update 1 and decays from there", () => {
  const cfg = { ...linear, warmup: 0, steps: 100 };
  assertEquals(lrAt(0, cfg), 1e-3);
  assertEquals(lrAt(1, cfg), 1e-3 * (1 - 1 / 100));
  assertEquals(lrAt(100, cfg), 0);
});

Deno.test("lrAt linear with warmup = steps ends the run at the peak", () => {
  const cfg = { ...linear, warmup: 50, steps: 50 };
  assertEquals(lrAt(50, cfg), 1e-3);
  assertEquals(lrAt(51, cfg), 0);
});

Deno.test("lrAt linear reproduces fairseq polynomial_decay(power 1) at num_updates = t", () => {
  // fairseq/optim/lr_scheduler/polynomial_decay_schedule.py, step_update(num_updates)
  const fairseq = (n: number, lr: number, warmup: number, total: number, end: number) => {
    if (warmup > 0 && n <= warmup) return (n / warmup) * lr;
    if (n >= total) return end;
    const pct = 1 - (n - warmup) / (total - warmup);
    return (lr - end) * pct + end;
  };
  const cfg: ScheduleConfig = { schedule: "linear", lr: 3e-3, warmup: 750, steps: 5000, endLr: 1e-5 };
  for (const t of [0, 1, 2, 374, 749, 750, 751, 2000, 4999, 5000, 6000]) {
    assertEquals(lrAt(t, cfg), fairseq(t, 3e-3, 750, 5000, 1e-5), `t = ${t}`);
  }
});

Deno.test("lrAt cosine: same warm-up, half-way at the midpoint, endLr at the end", () => {
  const cfg: ScheduleConfig = { schedule: "cosine", lr: 2e-3, warmup: 10, steps: 110, endLr: 2e-4 };
  assertEquals(lrAt(5, cfg), 1e-3);
  assertEquals(lrAt(10, cfg), 2e-3);
  assert.ok(Math.abs(lrAt(60, cfg) - 1.1e-3) < 1e-15);
  assertEquals(lrAt(110, cfg), 2e-4);
  assert.ok(lrAt(109, cfg) > 2e-4 && lrAt(11, cfg) < 2e-3);
});

Deno.test("lrAt constant: warm-up then the peak for ever, even past steps and with warmup > steps", () => {
  const cfg: ScheduleConfig = { schedule: "constant", lr: 1e-3, warmup: 750, steps: 600 };
  assertEquals(lrAt(600, cfg), (600 / 750) * 1e-3);
  assertEquals(lrAt(750, cfg), 1e-3);
  assertEquals(lrAt(10_000, cfg), 1e-3);
  assertEquals(lrAt(3, { ...cfg, warmup: 0 }), 1e-3);
});

Deno.test("lrAt ramp: rampK·t with no cap, no decay; lr, warmup and endLr ignored", () => {
  const cfg: ScheduleConfig = { schedule: "ramp", lr: 1e-3, warmup: 100, steps: 10, rampK: 5e-5 };
  assertEquals(lrAt(0, cfg), 0);
  assertEquals(lrAt(1, cfg), 5e-5);
  assertEquals(lrAt(200, cfg), 5e-5 * 200);
  assertEquals(lrAt(100_000, cfg), 5e-5 * 100_000);
});

Deno.test("lrAt and checkSchedule reject bad fields, naming the field and the value", () => {
  assertThrows(() => lrAt(1, { ...linear, warmup: -1 }), /Invalid warmup -1: expected an integer ≥ 0/);
  assertThrows(() => lrAt(1, { ...linear, warmup: 1.5 }), /Invalid warmup 1.5/);
  assertThrows(
    () => lrAt(1, { ...linear, warmup: 200 }),
    /Invalid warmup 200: expected at most steps \(110\) for a "linear" schedule/,
  );
  assertThrows(() => checkSchedule({ ...linear, schedule: "cosine", warmup: 111 }), /Invalid warmup 111.*"cosine"/);
  assertThrows(() => lrAt(1, { ...linear, steps: 0, warmup: 0 }), /Invalid steps 0: expected an integer ≥ 1/);
  assertThrows(() => lrAt(1, { ...linear, lr: 0 }), /Invalid lr 0: expected a finite number > 0/);
  assertThrows(() => lrAt(1, { ...linear, lr: Infinity }), /Invalid lr null/);
  assertThrows(() => lrAt(1, { ...linear, endLr: 2e-3 }), /Invalid endLr 0.002: expected 0 ≤ endLr ≤ lr \(0.001\)/);
  assertThrows(() => lrAt(1, { ...linear, endLr: -1 }), /Invalid endLr -1/);
  assertThrows(() => lrAt(1, { ...linear, schedule: "step" as "linear" }), /Invalid schedule "step": expected one of/);
  assertThrows(() => lrAt(1, { ...linear, schedule: "ramp" }), /Invalid rampK undefined: expected a finite number > 0/);
  assertThrows(() => lrAt(1, { ...linear, schedule: "ramp", rampK: 0 }), /Invalid rampK 0/);
  assertThrows(() => lrAt(-1, linear), /Invalid step -1: expected an integer ≥ 0/);
  assertThrows(() => lrAt(2.5, linear), /Invalid step 2.5/);
});
