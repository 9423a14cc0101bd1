/** vulkanHint: the advice when WebGPU gives no adapter fits what the machine has (issue 13, item 10). */
import { assert, assertEquals } from "../assert.ts";
import { vulkanHint } from "../../lib/backend/webgpu/adapter.ts";

Deno.test("vulkanHint: no loader, no driver, or drivers that gave no adapter each get their own advice", () => {
  assertEquals(
    vulkanHint({ loader: false, drivers: [] }),
    'use backend "cpu", or install Vulkan: apt-get install libvulkan1 mesa-vulkan-drivers',
  );
  assert.match(vulkanHint({ loader: true, drivers: [] }), /apt-get install mesa-vulkan-drivers$/);
  const both = vulkanHint({ loader: true, drivers: ["lvp_icd.x86_64.json"] });
  assert.match(both, /^Vulkan drivers are installed \(lvp_icd.x86_64.json\) but none gave an adapter: /);
  assert.ok(!both.includes("apt-get"), "installing what is there would not help");
  assertEquals(vulkanHint(null), 'use backend "cpu" or install a Vulkan driver');
  assert.ok(typeof vulkanHint() === "string"); // this machine, whatever it has
});
