/**
 * A run as a fairseq 0.12 project folder (`deno task export-fairseq`): the model in fairseq's names, `dict.txt`,
 * the token splits as `fairseq-preprocess` text, a converter to `checkpoint.pt`, and `train.sh` with the complete
 * `fairseq-train` command. Ids pass through unchanged: fairseq's dictionary puts `<s> <pad> </s> <unk>` at ids 0–3,
 * then the symbols of `dict.txt` in order, so `dict.txt` lists the symbols "4" … "V−1" and a token is written as
 * its id (ids 0, 2, 3 as fairseq's special symbols). Id 1 is fairseq's padding, skipped by positions and the loss,
 * so data holding it cannot be exported. Each split is one line: `fairseq-preprocess` appends one `</s>` to it.
 * Legend: B sequences per update, T context, V vocabulary.
 * @module
 */
import type { NormFormerLM } from "../model/normformer.ts";
import type { TrainConfig } from "./config.ts";
import { fairseqTrainFlags } from "./fairseq_train.ts";
import { saveFairseqCheckpoint } from "./interop.ts";

/** fairseq's four special symbols, ids 0–3. */
const SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"];

/**
 * fairseq's `dict.txt` for ids 0…V−1 passing through unchanged: the symbols "4" … "V−1", count 1 each.
 * @example
 * ```ts
 * import { fairseqDictionary } from "../../mod.ts";
 * console.log(fairseqDictionary(6)); // "4 1\n5 1\n"
 * ```
 */
export function fairseqDictionary(vocabSize: number): string {
  if (!Number.isInteger(vocabSize) || vocabSize <= SPECIALS.length) {
    throw new Error(
      `Invalid vocabSize ${vocabSize}: expected an integer > ${SPECIALS.length} for a fairseq dictionary`,
    );
  }
  let out = "";
  for (let id = SPECIALS.length; id < vocabSize; id++) out += `${id} 1\n`;
  return out;
}

/**
 * A token split as one line of `fairseq-preprocess` input (space-separated symbols of `fairseqDictionary`).
 * Throws naming the split for id 1, fairseq's padding.
 * @example
 * ```ts
 * import { fairseqDataLine } from "../../mod.ts";
 * console.log(fairseqDataLine([72, 105, 0, 10], "valid")); // "72 105 <s> 10\n"
 * ```
 */
export function fairseqDataLine(tokens: ArrayLike<number>, split: string): string {
  const words: string[] = new Array(tokens.length);
  let pads = 0;
  for (let i = 0; i < tokens.length; i++) {
    const id = tokens[i];
    if (id === 1) pads++;
    words[i] = id < SPECIALS.length ? SPECIALS[id] : String(id);
  }
  if (pads) {
    throw new Error(
      `Cannot export the ${split} split to fairseq: token id 1 (fairseq's padding, skipped by its positions and ` +
        `loss) occurs ${pads} times; export the model alone (--no-data)`,
    );
  }
  return words.join(" ") + "\n";
}

/** The `fairseq-preprocess` command that binarizes the exported splits into `data-bin/`. */
export const FAIRSEQ_PREPROCESS =
  "fairseq-preprocess --only-source --srcdict dict.txt --trainpref data/train.txt --validpref data/valid.txt " +
  "--testpref data/test.txt --destdir data-bin --workers 4";

/** Quote a word for bash when it needs it. */
const sh = (w: string): string => /^[\w.,:/=+-]+$/.test(w) ? w : `'${w.replaceAll("'", `'\\''`)}'`;

/**
 * `train.sh`: the complete `fairseq-train` command for the run's config. The flags sit one option per line in the
 * `ARGS=( … )` block (a test and the fixture generator read them from there); B is split over `GPUS` and
 * `UPDATE_FREQ` at run time, and `FINETUNE=1` starts from the exported weights (`checkpoint.pt`, made by
 * `to_fairseq.py`). Extra arguments go to `fairseq-train` (e.g. `--fp16`, `--cpu`).
 * @example
 * ```ts
 * import { fairseqTrainScript, resolveConfig } from "../../mod.ts";
 * const script = fairseqTrainScript(resolveConfig([{ preset: "tiny" }]), { name: "tiny", step: 200 });
 * console.log(script.includes("  --scale-heads\n")); // true
 * ```
 */
export function fairseqTrainScript(cfg: TrainConfig, run: { name: string; step: number }): string {
  const flags = fairseqTrainFlags(cfg);
  const lines: string[] = [];
  for (let i = 0; i < flags.length; i++) {
    const value = flags[i + 1] !== undefined && !flags[i + 1].startsWith("--");
    lines.push(`  ${flags[i]}${value ? ` ${sh(flags[++i])}` : ""}`);
  }
  return `#!/usr/bin/env bash
# fairseq 0.12 training that reproduces normformer-kit run "${run.name}" (exported at step ${run.step} of ${cfg.steps}),
# written by \`deno task export-fairseq\` from the run's config: do not edit the ARGS block by hand.
#   ./train.sh                  trains from scratch with the run's config on one GPU
#   GPUS=8 ./train.sh           the same ${cfg.batchSize} sequences per update, split over 8 GPUs (they must divide it)
#   UPDATE_FREQ=2 ./train.sh    ... and accumulated over 2 micro-batches
#   FINETUNE=1 ./train.sh       starts from the exported weights (python3 to_fairseq.py makes checkpoint.pt)
#   ./train.sh --fp16 ...       extra arguments go to fairseq-train (ours trained in fp32)
# Not reproduced: the order of the training blocks (fairseq shuffles contiguous T-token blocks, ours samples windows
# with its own seeded generator), so losses agree in distribution, not step by step.
set -euo pipefail
cd "$(dirname "$0")"
GPUS=\${GPUS:-1}
UPDATE_FREQ=\${UPDATE_FREQ:-1}
BATCH=${cfg.batchSize} # sequences of ${cfg.contextLength} tokens per update
if (( BATCH % (GPUS * UPDATE_FREQ) )); then
  echo "train.sh: GPUS × UPDATE_FREQ = $((GPUS * UPDATE_FREQ)) does not divide the batch of $BATCH sequences" >&2
  exit 2
fi
if [ ! -f data-bin/dict.txt ]; then
  ${FAIRSEQ_PREPROCESS}
fi
ARGS=(
${lines.join("\n")}
)
if [ -n "\${FINETUNE:-}" ]; then ARGS+=(--finetune-from-model checkpoint.pt); fi
exec fairseq-train data-bin "\${ARGS[@]}" --batch-size $((BATCH / GPUS / UPDATE_FREQ)) \\
  --update-freq "$UPDATE_FREQ" --distributed-world-size "$GPUS" --save-dir checkpoints "$@"
`;
}

/** The flags of `train.sh`'s `ARGS=( … )` block, as a list (what `fairseqTrainFlags` wrote). */
export function trainScriptFlags(script: string): string[] {
  const block = script.match(/\nARGS=\(\n([\s\S]*?)\n\)\n/);
  if (!block) throw new Error("Cannot read train.sh: no ARGS=( … ) block");
  const out: string[] = [];
  for (const line of block[1].split("\n")) {
    const m = line.trim().match(/^(--[\w-]+)(?: (.+))?$/);
    if (!m) throw new Error(`Cannot read train.sh: ${JSON.stringify(line)} is not "--flag [value]"`);
    out.push(m[1]);
    if (m[2] !== undefined) out.push(m[2].startsWith("'") ? m[2].slice(1, -1).replaceAll(`'\\''`, "'") : m[2]);
  }
  return out;
}

/** `to_fairseq.py`: model.safetensors → checkpoint.pt that `fairseq-train --finetune-from-model` loads (no pip). */
export const TO_FAIRSEQ_PY =
  `"""model.safetensors (normformer-kit) -> checkpoint.pt for fairseq 0.12: python3 to_fairseq.py [IN] [OUT]."""
import json, struct, sys
import torch

src = sys.argv[1] if len(sys.argv) > 1 else "model.safetensors"
dst = sys.argv[2] if len(sys.argv) > 2 else "checkpoint.pt"
with open(src, "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    header = json.loads(f.read(n))
    data = f.read()
meta = header.pop("__metadata__", {})
types = {"F32": torch.float32, "I32": torch.int32}
state = {}
for name, t in header.items():
    a, b = t["data_offsets"]
    state[name] = torch.frombuffer(bytearray(data[a:b]), dtype=types[t["dtype"]]).reshape(t["shape"]).clone()
torch.save({"model": state, "args": None, "cfg": None, "last_optimizer_state": None,
            "optimizer_history": [{"criterion_name": "CrossEntropyCriterion", "optimizer_name": "FairseqAdam",
                                   "lr_scheduler_state": {}, "num_updates": 0}],
            "extra_state": {"train_iterator": {"epoch": 1, "iterations_in_epoch": 0}}}, dst)
print(f"wrote {dst}: {len(state)} tensors; fairseq arguments: {json.loads(meta['fairseq.model'])}")
`;

/** `from_fairseq.py`: a fairseq checkpoint.pt → safetensors that `deno task import-fairseq` reads. */
export const FROM_FAIRSEQ_PY =
  `"""fairseq 0.12 checkpoint.pt -> safetensors for \`deno task import-fairseq\`: python3 from_fairseq.py IN.pt OUT."""
import json, struct, sys
import torch

load = torch.load(sys.argv[1], map_location="cpu")
cfg = load.get("cfg") or {}
if not cfg and load.get("args") is not None:
    cfg = {"model": vars(load["args"])}
sections = {k: dict(v) for k, v in cfg.items() if v is not None and hasattr(v, "items")}
meta = {"format": "pt", "fairseq.model": json.dumps(sections.get("model", {}), default=str),
        "fairseq.cfg": json.dumps(sections, default=str),
        "fairseq.num_updates": str((load.get("optimizer_history") or [{}])[-1].get("num_updates", 0))}
header, blobs, offset = {}, [], 0
for name, t in sorted(load["model"].items()):
    t = t.detach().float().contiguous() if t.is_floating_point() else t.detach().int().contiguous()
    blob = t.numpy().tobytes()
    header[name] = {"dtype": "F32" if t.dtype == torch.float32 else "I32", "shape": list(t.shape),
                    "data_offsets": [offset, offset + len(blob)]}
    blobs.append(blob)
    offset += len(blob)
header["__metadata__"] = meta
text = json.dumps(header, separators=(",", ":")).encode()
text += b" " * (-len(text) % 8)
with open(sys.argv[2], "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
print(f"wrote {sys.argv[2]}: {len(header) - 1} tensors")
`;

/** What `exportFairseqRun` writes. */
export interface FairseqExport {
  /** Files written, relative to the folder. */
  files: string[];
}

/**
 * Write the fairseq project folder of a run: `model.safetensors`, `dict.txt`, `data/{train,valid,test}.txt` (when
 * `splits` are given), `to_fairseq.py`, `from_fairseq.py` and `train.sh` (executable). Throws, before writing
 * anything, for a config fairseq cannot express or data holding id 1.
 */
export async function exportFairseqRun(
  dir: string,
  run: {
    model: NormFormerLM;
    config: TrainConfig;
    name: string;
    step: number;
    splits?: Record<"train" | "valid" | "test", ArrayLike<number>>;
  },
): Promise<FairseqExport> {
  const script = fairseqTrainScript(run.config, run);
  const data = run.splits
    ? Object.entries(run.splits).map(([split, tokens]) => [split, fairseqDataLine(tokens, split)] as const)
    : [];
  await Deno.mkdir(data.length ? `${dir}/data` : dir, { recursive: true });
  const files: string[] = [];
  const write = async (name: string, text: string, mode?: number) => {
    await Deno.writeTextFile(`${dir}/${name}`, text, mode ? { mode } : {});
    if (mode) await Deno.chmod(`${dir}/${name}`, mode);
    files.push(name);
  };
  await saveFairseqCheckpoint(`${dir}/model.safetensors`, run.model, run.config, {
    "normformer.step": String(run.step),
    "fairseq.train_flags": JSON.stringify(fairseqTrainFlags(run.config)),
  });
  files.push("model.safetensors");
  await write("dict.txt", fairseqDictionary(run.config.vocabSize));
  for (const [split, text] of data) await write(`data/${split}.txt`, text);
  await write("to_fairseq.py", TO_FAIRSEQ_PY);
  await write("from_fairseq.py", FROM_FAIRSEQ_PY);
  await write("train.sh", script, 0o755);
  return { files };
}
