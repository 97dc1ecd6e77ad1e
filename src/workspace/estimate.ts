// GPU memory per GPU, in GiB, as parts with their formula and source. Unknown inputs are named in `unknowns`
// and the value taken instead is stated; `lowGiB`–`highGiB` is the range the uncertain inputs allow.
//
// Sources (docs/workspace.md has the long form):
// - HF transformers, "Model training anatomy" (perf_train_gpu_one / model_memory_anatomy): weights 4 B/param
//   fp32, 6 B/param mixed precision; gradients 4 B/param; AdamW 8, 8-bit Adam 2, SGD with momentum 4 B/param.
// - Korthikanti et al. 2022 via EleutherAI "Transformer Math 101": activations s·b·h·34 bytes per layer in
//   16-bit with flash attention (the 5·a·s/h score term is not stored); checkpointing keeps the 2·s·b·h input.
// - accelerate estimate-memory: loading = params × dtype bytes; "training using Adam" = 4 × that (fp32).
// - vLLM / EleutherAI: KV cache = 2 × layers × KV heads × head_dim × tokens × sequences × bytes; inference
//   adds ~20% of the weights for activations and buffers.
// - QLoRA (Dettmers et al. 2023): NF4 with double quantisation is 4.127 bits per parameter.
import type { Analysis } from './analyze';
import type { Precision } from './config';

export interface EstimatePart {
  /** Rounded to 0.01 GiB; `bytes` is exact. */
  readonly gib: number;
  readonly bytes: number;
  readonly formula: string;
}

export interface Estimate {
  readonly totalGiB: number;
  readonly lowGiB: number;
  readonly highGiB: number;
  readonly parts: Readonly<Record<string, EstimatePart>>;
  readonly unknowns: readonly string[];
}

const GIB = 1024 ** 3;
export const WEIGHT_BYTES: Record<Precision, number> = { fp32: 4, bf16: 2, fp16: 2, int8: 1, int4: 0.5 };
const OPTIMIZER_BYTES = { adamw: 8, 'paged-adamw': 8, 'adamw-8bit': 2, 'paged-adamw-8bit': 2, sgd: 4, adafactor: 4 };
const CUDA_CONTEXT = { gib: 0.5, low: 0.3, high: 1.0 };
const DEFAULT_SEQUENCE = { training: 2048, inference: 4096 };
const NF4_BYTES = 4.127 / 8;

export function estimateMemory(analysis: Analysis, memoryGiB?: number): Estimate {
  const unknowns = [...analysis.assumptions];
  const parts: Record<string, EstimatePart> = {};
  const add = (name: string, bytes: number, formula: string) => {
    parts[name] = { gib: bytes / GIB, bytes: Math.round(bytes), formula };
  };
  const model = analysis.model;
  const shape = model?.shape;
  const training = analysis.workload === 'training' || analysis.workload === 'finetune';
  const pick = (value: number | undefined, fallback: number, what: string) => {
    if (value !== undefined) return value;
    unknowns.push(`${what} not found: ${fallback} assumed`);
    return fallback;
  };
  let paramSpread = 0;
  if (model?.source === 'name size') paramSpread = 0.1;

  if (shape) {
    const P = shape.params;
    const n = analysis.gpuCount;
    const shard = (what: 'opt' | 'grad' | 'weights') => {
      const s = analysis.sharding;
      if (n <= 1 || !s || s === 'ddp') return 1;
      if (s === 'zero1') return what === 'opt' ? n : 1;
      if (s === 'zero2') return what === 'weights' ? 1 : n;
      return n;
    };
    if (training && analysis.lora) {
      const frozen = analysis.quantization === 'bnb-4bit' ? NF4_BYTES : WEIGHT_BYTES[analysis.precision];
      add(
        'weights',
        P * frozen,
        `${fmt(P)} frozen params × ${frozen.toFixed(3)} B (${analysis.quantization ?? analysis.precision})`,
      );
      const adapters = loraParams(analysis, unknowns);
      const opt = OPTIMIZER_BYTES[analysis.optimizer ?? 'adamw'];
      add('adapters', adapters * 4, `${fmt(adapters)} LoRA params × 4 B (fp32)`);
      add('gradients', adapters * 4, `${fmt(adapters)} LoRA params × 4 B`);
      add('optimizer', adapters * opt, `${fmt(adapters)} LoRA params × ${opt} B (${analysis.optimizer ?? 'adamw'})`);
    } else if (training) {
      const mixed = analysis.precision !== 'fp32';
      const weightBytes = mixed ? 6 : 4;
      const opt = OPTIMIZER_BYTES[analysis.optimizer ?? assumedOptimizer(unknowns)];
      add(
        'weights',
        (P * weightBytes) / shard('weights'),
        `${fmt(P)} params × ${weightBytes} B (${mixed ? 'fp32 master + 16-bit copy' : 'fp32'})${divided(shard('weights'))}`,
      );
      add('gradients', (P * 4) / shard('grad'), `${fmt(P)} params × 4 B (fp32)${divided(shard('grad'))}`);
      add(
        'optimizer',
        (P * opt) / shard('opt'),
        `${fmt(P)} params × ${opt} B (${analysis.optimizer ?? 'adamw'})${divided(shard('opt'))}`,
      );
    } else {
      const tp = n > 1 ? n : 1;
      const bytes = WEIGHT_BYTES[analysis.precision];
      add('weights', (P * bytes) / tp, `${fmt(P)} params × ${bytes} B (${analysis.precision})${divided(tp)}`);
    }
    const sequence = () =>
      pick(analysis.sequence, training ? DEFAULT_SEQUENCE.training : DEFAULT_SEQUENCE.inference, 'sequence length');
    const batch = () => pick(analysis.batch, 1, training ? 'per-device batch' : 'concurrent sequences');
    if (training) {
      if (shape.layers && shape.hidden) {
        const s = sequence();
        const b = batch();
        const scale = analysis.precision === 'fp32' ? 2 : 1;
        const perLayer = 34 * s * b * shape.hidden * scale;
        const stored = analysis.checkpointing
          ? shape.layers * 2 * s * b * shape.hidden * scale + perLayer
          : shape.layers * perLayer;
        const logits = shape.vocab ? s * b * shape.vocab * 4 : 0;
        add(
          'activations',
          stored + logits,
          analysis.checkpointing
            ? `checkpointed: ${shape.layers} layers × 2·s·b·h + one layer × 34·s·b·h (s=${s}, b=${b}, h=${shape.hidden})` +
                (logits ? ` + fp32 logits s·b·V` : '')
            : `${shape.layers} layers × 34·s·b·h bytes (s=${s}, b=${b}, h=${shape.hidden})` +
                (logits ? ` + fp32 logits s·b·V` : ''),
        );
      } else unknowns.push('activations: the model shape (layers, hidden size) is unknown: not counted');
    } else if (shape.layers && shape.kvHeads && (shape.headDim ?? (shape.hidden && shape.heads))) {
      const headDim = shape.headDim ?? shape.hidden! / shape.heads!;
      const s = sequence();
      const b = batch();
      const kvBytes = analysis.precision === 'fp32' ? 4 : 2;
      const tp = n > 1 ? Math.min(n, shape.kvHeads) : 1;
      add(
        'kvCache',
        (2 * shape.layers * shape.kvHeads * headDim * s * b * kvBytes) / tp,
        `2 × ${shape.layers} layers × ${shape.kvHeads} KV heads × ${headDim} × ${s} tokens × ${b} seqs × ${kvBytes} B${divided(tp)}`,
      );
    } else if (analysis.workload === 'inference')
      unknowns.push('KV cache: the model shape (layers, KV heads) is unknown: not counted');
    if (!training)
      add('activations', (parts.weights?.gib ?? 0) * GIB * 0.2, '20% of the weights (EleutherAI: inference overhead)');
  }
  add('cudaContext', CUDA_CONTEXT.gib * GIB, 'CUDA context, cuBLAS/cuDNN workspaces (0.3–1 GiB by driver and GPU)');
  const subtotal = Object.values(parts).reduce((sum, p) => sum + p.gib, 0);
  if (training && shape)
    add('overhead', subtotal * 0.1 * GIB, '10% of the rest: the caching allocator’s fragmentation');
  const total = Object.values(parts).reduce((sum, p) => sum + p.gib, 0);
  const modelPart = total - CUDA_CONTEXT.gib;
  const low = modelPart * (1 - paramSpread) + CUDA_CONTEXT.low;
  const high = modelPart * (1 + paramSpread) + CUDA_CONTEXT.high;
  if (memoryGiB !== undefined) {
    unknowns.push(`gpu.memoryGiB in .gpudev.yaml: ${memoryGiB} GiB used instead of the ${round(total)} GiB estimate`);
    return { totalGiB: memoryGiB, lowGiB: memoryGiB, highGiB: memoryGiB, parts: roundParts(parts), unknowns };
  }
  return { totalGiB: round(total), lowGiB: round(low), highGiB: round(high), parts: roundParts(parts), unknowns };
}

/** peft's default targets on Llama-style models: q_proj and v_proj, r × (in + out) each, every layer. */
function loraParams(analysis: Analysis, unknowns: string[]): number {
  const shape = analysis.model!.shape;
  const rank = analysis.lora?.rank ?? 8;
  if (analysis.lora?.rank === undefined) unknowns.push('LoRA rank r not found: 8 (peft default) assumed');
  if (!shape.layers || !shape.hidden || !shape.heads) {
    unknowns.push('LoRA adapter size: the model shape is unknown: 1% of the parameters assumed');
    return shape.params * 0.01;
  }
  const headDim = shape.headDim ?? shape.hidden / shape.heads;
  const kv = shape.kvHeads ?? shape.heads;
  return shape.layers * rank * (shape.hidden + shape.heads * headDim + shape.hidden + kv * headDim);
}

function assumedOptimizer(unknowns: string[]): 'adamw' {
  unknowns.push('optimizer not found: AdamW assumed (the Trainer default)');
  return 'adamw';
}

const divided = (n: number) => (n > 1 ? ` ÷ ${n} GPUs` : '');
const round = (gib: number) => Math.round(gib * 100) / 100;
const roundParts = (parts: Record<string, EstimatePart>) =>
  Object.fromEntries(Object.entries(parts).map(([k, p]) => [k, { ...p, gib: round(p.gib) }]));

/** 7.24e9 → "7.24B", 4.2e6 → "4.2M". */
export function fmt(params: number): string {
  if (params >= 1e9) return `${(params / 1e9).toFixed(2)}B`;
  if (params >= 1e6) return `${(params / 1e6).toFixed(1)}M`;
  return String(Math.round(params));
}
