// A workspace's files → what runs there: workload, model and its shape, precision, training set-up, GPUs.
// Pure: takes the files scan.ts read. `.gpudev.yaml`, where given, wins over anything found in the code.
import type { GpudevConfig, Precision, Workload } from './config';
import { readCodeFacts, type Fact, type Optimizer, type Quantization, type Sharding } from './codeFacts';
import type { Finding } from './findings';
import { knownModel, modelFromConfig, paramsFromName, type ModelShape, type ModelSource } from './models';
import { declaredPackages, type PackageRef } from './packages';
import type { WorkspaceFile } from './scan';

export interface AnalyzedModel {
  readonly name: string;
  readonly shape: ModelShape;
  readonly source: ModelSource;
}

export interface Analysis {
  readonly workload: Workload;
  readonly model?: AnalyzedModel;
  readonly precision: Precision;
  readonly quantization?: Quantization;
  /** LoRA adapters; `rank` where LoraConfig names its r. */
  readonly lora?: { readonly rank?: number };
  readonly checkpointing: boolean;
  readonly optimizer?: Optimizer;
  readonly batch?: number;
  readonly sequence?: number;
  readonly gpuCount: number;
  readonly sharding?: Sharding;
  readonly image?: string;
  readonly packages: readonly PackageRef[];
  readonly findings: readonly Finding[];
  /** What it could not find and what it took instead, in words. */
  readonly assumptions: readonly string[];
}

const TRAINING = new Set(['deepspeed', 'lightning', 'pytorch-lightning', 'megatron-core']);
const FINETUNE = new Set(['trl', 'peft', 'unsloth', 'axolotl', 'llamafactory']);
const INFERENCE = new Set([
  'vllm',
  'sglang',
  'text-generation',
  'text-generation-inference',
  'tensorrt-llm',
  'lmdeploy',
]);

export function analyzeWorkspace(files: readonly WorkspaceFile[], config?: GpudevConfig): Analysis {
  const findings: Finding[] = [];
  const assumptions: string[] = [];
  const note = <T>(facts: readonly Fact<T>[]): Fact<T> | undefined => {
    for (const { finding } of facts)
      if (!findings.some((f) => f.file === finding.file && f.line === finding.line && f.what === finding.what))
        findings.push(finding);
    return facts[0];
  };
  const { packages, fromImports } = declaredPackages(files);
  for (const p of packages)
    if (isRelevantPackage(p.name))
      findings.push({ file: p.file, line: p.line, what: `${fromImports ? 'imports' : 'package'} ${p.name}` });
  const facts = readCodeFacts(files);

  const modelFact = note(dedupeModels(facts.models, files));
  const quantization = note(facts.quantization)?.value;
  const loraFact = note(facts.lora);
  const checkpointing = note(facts.checkpointing) !== undefined;
  const optimizer = note(facts.optimizer)?.value;
  const batchFact = note(facts.batch);
  const sequenceFact = note(facts.sequence);
  const gpuFact = note(facts.gpuCount);
  const sharding = note(facts.sharding)?.value;
  const dtype = note(facts.dtype)?.value;
  const image = note(facts.image)?.value;

  const names = new Set(packages.map((p) => p.name));
  if (names.has('vllm'))
    assumptions.push(
      'vLLM reserves gpu_memory_utilization (0.9) of the card whatever it needs: this is the least it needs',
    );
  const workload = config?.workload ?? workloadOf(names, files, loraFact !== undefined, assumptions);
  const model = modelOf(config, modelFact?.value, files, findings, assumptions);
  const precision =
    config?.precision ??
    (quantization === 'bnb-8bit'
      ? 'int8'
      : quantization
        ? 'int4'
        : (dtype ??
          precisionFromConfig(model, files) ??
          assumed(assumptions, 'bf16', 'precision not found: bf16 assumed')));
  return {
    workload,
    ...(model ? { model } : {}),
    precision,
    ...(quantization ? { quantization } : {}),
    ...(loraFact ? { lora: loraFact.value === undefined ? {} : { rank: loraFact.value } } : {}),
    checkpointing,
    ...(optimizer ? { optimizer } : {}),
    ...optionalNumber('batch', config?.batch ?? batchFact?.value),
    ...optionalNumber('sequence', config?.sequence ?? sequenceFact?.value),
    gpuCount: config?.gpu?.count ?? gpuFact?.value ?? 1,
    ...(sharding ? { sharding } : {}),
    ...((config?.image ?? image) ? { image: config?.image ?? image } : {}),
    packages,
    findings: findings.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line),
    assumptions,
  };
}

const optionalNumber = (key: 'batch' | 'sequence', value: number | undefined) =>
  value === undefined ? {} : { [key]: value };

function assumed<T>(assumptions: string[], value: T, why: string): T {
  assumptions.push(why);
  return value;
}

export function isRelevantPackage(name: string): boolean {
  return (
    TRAINING.has(name) ||
    FINETUNE.has(name) ||
    INFERENCE.has(name) ||
    [
      'accelerate',
      'torch',
      'transformers',
      'diffusers',
      'bitsandbytes',
      'jax',
      'tensorflow',
      'auto-gptq',
      'autoawq',
      'flash-attn',
      'xformers',
    ].includes(name)
  );
}

function workloadOf(
  names: ReadonlySet<string>,
  files: readonly WorkspaceFile[],
  lora: boolean,
  assumptions: string[],
): Workload {
  const has = (set: ReadonlySet<string>) => [...set].some((n) => names.has(n));
  if (has(FINETUNE) || lora) return 'finetune';
  if (has(INFERENCE)) return 'inference';
  if (has(TRAINING)) return 'training';
  const fileNames = files.map((f) => f.path.split('/').pop()!.toLowerCase());
  if (fileNames.some((n) => /^(train|pretrain|finetune|fine_tune)\w*\.py$/.test(n))) return 'training';
  if (
    fileNames.some((n) => /^(serve|server|infer|inference|generate|predict|app)\w*\.py$/.test(n)) ||
    names.has('diffusers')
  )
    return 'inference';
  // accelerate also places models for inference (device_map): a weaker sign than a training script's name.
  if (names.has('accelerate')) return 'training';
  return assumed(
    assumptions,
    'interactive',
    'workload not found (no training or serving packages or scripts): interactive assumed',
  );
}

/** The same model named in several places is one finding per place, but one model. */
function dedupeModels(models: Fact<string>[], files: readonly WorkspaceFile[]): Fact<string>[] {
  const useful = models.filter((m) => m.value.includes('/') || knownModel(m.value) || localConfig(m.value, files));
  return useful.length ? useful : models;
}

function localConfig(name: string, files: readonly WorkspaceFile[]): WorkspaceFile | undefined {
  const folder = name.replace(/^\.\//, '').replace(/\/$/, '');
  return files.find((f) => f.path === `${folder}/config.json` || (folder === '.' && f.path === 'config.json'));
}

function modelOf(
  config: GpudevConfig | undefined,
  found: string | undefined,
  files: readonly WorkspaceFile[],
  findings: Finding[],
  assumptions: string[],
): AnalyzedModel | undefined {
  if (config?.model && typeof config.model === 'object')
    return {
      name: config.model.name ?? `${(config.model.params / 1e9).toFixed(1)}B parameters`,
      shape: { params: config.model.params },
      source: '.gpudev.yaml',
    };
  const name = typeof config?.model === 'string' ? config.model : found;
  const configFile = name
    ? localConfig(name, files)
    : files.find((f) => /(^|\/)config\.json$/.test(f.path) && modelFromConfig(f.text));
  const fromConfig = configFile ? modelFromConfig(configFile.text) : undefined;
  if (configFile && fromConfig) {
    findings.push({
      file: configFile.path,
      line: 1,
      what: `model config: ${fromConfig.shape.layers} layers, hidden ${fromConfig.shape.hidden}, ${(fromConfig.shape.params / 1e9).toFixed(2)}B parameters`,
    });
    return {
      name: name ?? configFile.path.replace(/\/?config\.json$/, '') ?? '.',
      shape: fromConfig.shape,
      source: 'config',
    };
  }
  if (!name) {
    assumptions.push(
      'no model found (from_pretrained, LLM(model=…), --model_name_or_path, config.json): set model in .gpudev.yaml',
    );
    return undefined;
  }
  const known = knownModel(name);
  if (known) return { name, shape: known.shape, source: 'known model' };
  const params = paramsFromName(name);
  if (params) {
    assumptions.push(
      `${name}: not a known model; ${(params / 1e9).toFixed(1)}B parameters read from its name, shape unknown`,
    );
    return { name, shape: { params }, source: 'name size' };
  }
  assumptions.push(`${name}: unknown model and no size in its name: set model: {params: …} in .gpudev.yaml`);
  return undefined;
}

function precisionFromConfig(model: AnalyzedModel | undefined, files: readonly WorkspaceFile[]): Precision | undefined {
  if (model?.source !== 'config') return undefined;
  const file = localConfig(model.name, files) ?? files.find((f) => f.path.endsWith('config.json'));
  const dtype = file ? modelFromConfig(file.text)?.dtype : undefined;
  if (dtype === 'bfloat16') return 'bf16';
  if (dtype === 'float16') return 'fp16';
  if (dtype === 'float32') return 'fp32';
  return undefined;
}
