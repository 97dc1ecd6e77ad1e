// Facts read from code, scripts and launch/config files by pattern: never executed, never imported.
import { matchesWithLines, type Finding } from './findings';
import type { WorkspaceFile } from './scan';

export type Quantization = 'bnb-4bit' | 'bnb-8bit' | 'gptq' | 'awq';
export type Optimizer = 'adamw' | 'adamw-8bit' | 'paged-adamw-8bit' | 'paged-adamw' | 'sgd' | 'adafactor';
export type Sharding = 'zero1' | 'zero2' | 'zero3' | 'fsdp' | 'ddp';

/** One fact and where it was read. */
export interface Fact<T> {
  readonly value: T;
  readonly finding: Finding;
}

export interface CodeFacts {
  readonly models: Fact<string>[];
  readonly quantization: Fact<Quantization>[];
  readonly lora: Fact<number | undefined>[];
  readonly checkpointing: Fact<true>[];
  readonly optimizer: Fact<Optimizer>[];
  readonly batch: Fact<number>[];
  readonly sequence: Fact<number>[];
  readonly gpuCount: Fact<number>[];
  readonly sharding: Fact<Sharding>[];
  readonly dtype: Fact<'bf16' | 'fp16' | 'fp32'>[];
  readonly image: Fact<string>[];
}

/** The same fact read more often than this in one file is no more true. */
const MATCHES_PER_RULE = 10;

const STRING = String.raw`["']([A-Za-z0-9._][A-Za-z0-9._/-]{1,200})["']`;
const NUMBER = String.raw`(\d{1,7})`;

interface Rule<K extends keyof CodeFacts> {
  readonly key: K;
  readonly files: RegExp;
  readonly pattern: RegExp;
  readonly value: (m: RegExpExecArray) => CodeFacts[K][number]['value'] | null;
  readonly what: (value: CodeFacts[K][number]['value'], m: RegExpExecArray) => string;
}

const PY = /\.py$/;
const SCRIPT = /\.(py|sh|bash|ya?ml|json|toml|cfg)$|(^|\/)(Dockerfile|Containerfile)[^/]*$/;
const CONFIG = /\.(ya?ml|json)$/;
const DOCKER = /(^|\/)(Dockerfile|Containerfile)[^/]*$|\.dockerfile$/;

const rule = <K extends keyof CodeFacts>(r: Rule<K>) => r as unknown as Rule<keyof CodeFacts>;

const RULES: Rule<keyof CodeFacts>[] = [
  rule({
    key: 'models',
    files: PY,
    pattern: new RegExp(String.raw`from_pretrained\(\s*` + STRING),
    value: (m) => m[1]!,
    what: (v) => `loads model ${v}`,
  }),
  rule({
    key: 'models',
    files: PY,
    pattern: new RegExp(String.raw`\bLLM\(\s*(?:model\s*=\s*)?` + STRING),
    value: (m) => m[1]!,
    what: (v) => `vLLM serves ${v}`,
  }),
  rule({
    key: 'models',
    files: PY,
    pattern: new RegExp(String.raw`\b(?:model_name(?:_or_path)?|model_id|base_model)\s*=\s*` + STRING),
    value: (m) => m[1]!,
    what: (v) => `model ${v}`,
  }),
  rule({
    key: 'models',
    files: SCRIPT,
    pattern: new RegExp(
      String.raw`--(?:model_name_or_path|model-name-or-path|model)[= ]\s*["']?([A-Za-z0-9][A-Za-z0-9._/-]{1,200})`,
    ),
    value: (m) => m[1]!,
    what: (v) => `model ${v} on the command line`,
  }),
  rule({
    key: 'models',
    files: SCRIPT,
    pattern: new RegExp(String.raw`vllm\s+serve\s+["']?([A-Za-z0-9][A-Za-z0-9._/-]{1,200})`),
    value: (m) => m[1]!,
    what: (v) => `vllm serve ${v}`,
  }),
  rule({
    key: 'models',
    files: CONFIG,
    pattern: new RegExp(
      String.raw`["']?(?:model_name_or_path|base_model|pretrained_model_name_or_path)["']?\s*:\s*["']?([A-Za-z0-9][A-Za-z0-9._/-]{1,200})`,
    ),
    value: (m) => m[1]!,
    what: (v) => `model ${v}`,
  }),
  rule({
    key: 'quantization',
    files: PY,
    pattern: /load_in_4bit\s*=\s*True/,
    value: () => 'bnb-4bit',
    what: () => 'bitsandbytes 4-bit weights (QLoRA)',
  }),
  rule({
    key: 'quantization',
    files: PY,
    pattern: /load_in_8bit\s*=\s*True/,
    value: () => 'bnb-8bit',
    what: () => 'bitsandbytes 8-bit weights',
  }),
  rule({
    key: 'quantization',
    files: SCRIPT,
    pattern: /quantization\s*[=:]\s*["']?(gptq|awq)|GPTQConfig\(|AwqConfig\(/i,
    value: (m) => ((m[1] ?? m[0]).toLowerCase().startsWith('awq') ? 'awq' : 'gptq'),
    what: (v) => `${v.toUpperCase()} quantized weights`,
  }),
  rule({
    key: 'lora',
    files: PY,
    pattern: /LoraConfig\(/,
    value: () => undefined,
    what: () => 'LoRA adapters (peft LoraConfig)',
  }),
  rule({
    key: 'checkpointing',
    files: SCRIPT,
    pattern: /gradient_checkpointing(?:_enable\(\)|["']?\s*[=:]\s*(?:True|true))|--gradient_checkpointing\b/,
    value: () => true,
    what: () => 'gradient checkpointing',
  }),
  rule({
    key: 'optimizer',
    files: SCRIPT,
    pattern:
      /optim\s*[=:]\s*["']?(paged_adamw_8bit|adamw_8bit|adamw_bnb_8bit|paged_adamw_32bit|adamw_torch|adamw_hf|sgd|adafactor)|bnb\.optim\.(PagedAdamW8bit|AdamW8bit|Adam8bit)|torch\.optim\.(SGD|AdamW|Adam)\(/,
    value: (m) => optimizerOf(m[1] ?? m[2] ?? m[3] ?? ''),
    what: (v) => `optimizer ${v}`,
  }),
  rule({
    key: 'batch',
    files: SCRIPT,
    pattern: new RegExp(String.raw`per_device_train_batch_size["']?\s*[=: ]\s*` + NUMBER),
    value: (m) => Number(m[1]),
    what: (v) => `per-device batch ${v}`,
  }),
  rule({
    key: 'batch',
    files: SCRIPT,
    pattern: new RegExp(String.raw`--per_device_train_batch_size[= ]` + NUMBER),
    value: (m) => Number(m[1]),
    what: (v) => `per-device batch ${v}`,
  }),
  rule({
    key: 'batch',
    files: SCRIPT,
    pattern: new RegExp(String.raw`max_num_seqs\s*[=:]\s*` + NUMBER + '|--max-num-seqs[= ]' + NUMBER),
    value: (m) => Number(m[1] ?? m[2]),
    what: (v) => `up to ${v} sequences at once (vLLM)`,
  }),
  rule({
    key: 'sequence',
    files: SCRIPT,
    pattern: new RegExp(String.raw`(?:max_seq_length|max_length|model_max_length|block_size)\s*[=:]\s*` + NUMBER),
    value: (m) => Number(m[1]),
    what: (v) => `sequence length ${v}`,
  }),
  rule({
    key: 'sequence',
    files: SCRIPT,
    pattern: new RegExp(String.raw`max_model_len\s*[=:]\s*` + NUMBER + '|--max-model-len[= ]' + NUMBER),
    value: (m) => Number(m[1] ?? m[2]),
    what: (v) => `vLLM max_model_len ${v}`,
  }),
  rule({
    key: 'gpuCount',
    files: SCRIPT,
    pattern: new RegExp('--nproc[_-]per[_-]node[= ]' + NUMBER),
    value: (m) => Number(m[1]),
    what: (v) => `torchrun on ${v} GPUs`,
  }),
  rule({
    key: 'gpuCount',
    files: CONFIG,
    pattern: new RegExp(String.raw`^\s*["']?num_processes["']?\s*:\s*` + NUMBER, 'm'),
    value: (m) => Number(m[1]),
    what: (v) => `accelerate on ${v} processes`,
  }),
  rule({
    key: 'gpuCount',
    files: SCRIPT,
    pattern: new RegExp(String.raw`tensor_parallel_size\s*[=:]\s*` + NUMBER + '|--tensor-parallel-size[= ]' + NUMBER),
    value: (m) => Number(m[1] ?? m[2]),
    what: (v) => `tensor parallel over ${v} GPUs`,
  }),
  rule({
    key: 'gpuCount',
    files: SCRIPT,
    pattern: new RegExp('--(?:num_gpus|gpus)[= ]' + NUMBER),
    value: (m) => Number(m[1]),
    what: (v) => `${v} GPUs`,
  }),
  rule({
    key: 'sharding',
    files: CONFIG,
    pattern: /["']?stage["']?\s*:\s*([123])/,
    value: (m) => `zero${m[1]}` as Sharding,
    what: (v) => `DeepSpeed ZeRO stage ${v.slice(4)}`,
  }),
  rule({
    key: 'sharding',
    files: SCRIPT,
    pattern: /distributed_type\s*:\s*FSDP|FullyShardedDataParallel\(|--fsdp\b|\bfsdp\s*=\s*["']full_shard/,
    value: () => 'fsdp',
    what: () => 'FSDP: weights, gradients and optimizer states sharded',
  }),
  rule({
    key: 'sharding',
    files: PY,
    pattern: /DistributedDataParallel\(/,
    value: () => 'ddp',
    what: () => 'DDP: a full copy on every GPU',
  }),
  rule({
    key: 'dtype',
    files: SCRIPT,
    pattern:
      /torch_dtype\s*=\s*torch\.(bfloat16|float16|float32)|\b(bf16|fp16)\s*[=:]\s*(?:True|true)|dtype\s*=\s*["'](bfloat16|float16|half)["']|mixed_precision\s*:\s*["']?(bf16|fp16)/,
    value: (m) => dtypeOf(m[1] ?? m[2] ?? m[3] ?? m[4] ?? ''),
    what: (v) => `${v} weights and compute`,
  }),
  rule({
    key: 'image',
    files: DOCKER,
    pattern: /^FROM\s+(?:--platform=\S+\s+)?([A-Za-z0-9][A-Za-z0-9._/:@+-]{0,250})/m,
    value: (m) => m[1]!,
    what: (v) => `container image ${v} (FROM)`,
  }),
];

function optimizerOf(name: string): Optimizer {
  const lower = name.toLowerCase();
  if (lower.includes('paged') && lower.includes('8bit')) return 'paged-adamw-8bit';
  if (lower.includes('paged')) return 'paged-adamw';
  if (lower.includes('8bit')) return 'adamw-8bit';
  if (lower === 'sgd') return 'sgd';
  if (lower === 'adafactor') return 'adafactor';
  return 'adamw';
}

function dtypeOf(name: string): 'bf16' | 'fp16' | 'fp32' {
  if (name.startsWith('b')) return 'bf16';
  if (name === 'float32') return 'fp32';
  return 'fp16';
}

export function readCodeFacts(files: readonly WorkspaceFile[]): CodeFacts {
  const facts: Record<keyof CodeFacts, Fact<unknown>[]> = {
    models: [],
    quantization: [],
    lora: [],
    checkpointing: [],
    optimizer: [],
    batch: [],
    sequence: [],
    gpuCount: [],
    sharding: [],
    dtype: [],
    image: [],
  };
  for (const file of files) {
    for (const r of RULES) {
      if (!r.files.test(file.path)) continue;
      for (const { match, line } of matchesWithLines(file.text, r.pattern, MATCHES_PER_RULE)) {
        const value = r.value(match);
        if (value === null) continue;
        const what = r.what(value, match);
        if (r.key === 'lora') {
          const rank = /\br\s*=\s*(\d{1,5})/.exec(file.text.slice(match.index, match.index + 600));
          facts.lora.push({
            value: rank ? Number(rank[1]) : undefined,
            finding: { file: file.path, line, what: rank ? `${what}, r=${rank[1]}` : what },
          });
        } else facts[r.key].push({ value, finding: { file: file.path, line, what } });
      }
    }
  }
  return facts as unknown as CodeFacts;
}
