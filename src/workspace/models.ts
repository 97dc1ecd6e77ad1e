// What a model is made of: from its config.json, from a table of well-known families, or from the size in
// its name ("…-7b"). Figures in the table are the models' own config.json values and published counts.
import * as z from 'zod';

export interface ModelShape {
  readonly params: number;
  readonly layers?: number;
  readonly hidden?: number;
  readonly heads?: number;
  readonly kvHeads?: number;
  readonly headDim?: number;
  readonly vocab?: number;
  readonly intermediate?: number;
  readonly tiedEmbeddings?: boolean;
  readonly experts?: number;
}

export type ModelSource = 'config' | 'known model' | 'name size' | '.gpudev.yaml';

/** Lower-case name fragment → shape. Longest fragment that the id contains wins. */
const KNOWN: Record<string, ModelShape> = {
  'bert-base-cased': { params: 108_310_272, layers: 12, hidden: 768, heads: 12, kvHeads: 12, vocab: 28996 },
  'bert-base-uncased': { params: 109_482_240, layers: 12, hidden: 768, heads: 12, kvHeads: 12, vocab: 30522 },
  gpt2: { params: 124_439_808, layers: 12, hidden: 768, heads: 12, kvHeads: 12, vocab: 50257, tiedEmbeddings: true },
  'gpt2-medium': { params: 354_823_168, layers: 24, hidden: 1024, heads: 16, kvHeads: 16, vocab: 50257 },
  'gpt2-large': { params: 774_030_080, layers: 36, hidden: 1280, heads: 20, kvHeads: 20, vocab: 50257 },
  'gpt2-xl': { params: 1_557_611_200, layers: 48, hidden: 1600, heads: 25, kvHeads: 25, vocab: 50257 },
  'llama-2-7b': { params: 6.74e9, layers: 32, hidden: 4096, heads: 32, kvHeads: 32, headDim: 128, vocab: 32000 },
  'llama-2-13b': { params: 13.0e9, layers: 40, hidden: 5120, heads: 40, kvHeads: 40, headDim: 128, vocab: 32000 },
  'llama-2-70b': { params: 69.0e9, layers: 80, hidden: 8192, heads: 64, kvHeads: 8, headDim: 128, vocab: 32000 },
  'llama-3-8b': { params: 8.03e9, layers: 32, hidden: 4096, heads: 32, kvHeads: 8, headDim: 128, vocab: 128256 },
  'llama-3.1-8b': { params: 8.03e9, layers: 32, hidden: 4096, heads: 32, kvHeads: 8, headDim: 128, vocab: 128256 },
  'llama-3-70b': { params: 70.6e9, layers: 80, hidden: 8192, heads: 64, kvHeads: 8, headDim: 128, vocab: 128256 },
  'llama-3.1-70b': { params: 70.6e9, layers: 80, hidden: 8192, heads: 64, kvHeads: 8, headDim: 128, vocab: 128256 },
  'llama-3.2-1b': { params: 1.24e9, layers: 16, hidden: 2048, heads: 32, kvHeads: 8, headDim: 64, vocab: 128256 },
  'llama-3.2-3b': { params: 3.21e9, layers: 28, hidden: 3072, heads: 24, kvHeads: 8, headDim: 128, vocab: 128256 },
  'mistral-7b': { params: 7.24e9, layers: 32, hidden: 4096, heads: 32, kvHeads: 8, headDim: 128, vocab: 32000 },
  'mixtral-8x7b': { params: 46.7e9, layers: 32, hidden: 4096, heads: 32, kvHeads: 8, headDim: 128, experts: 8 },
  'qwen2.5-0.5b': { params: 0.494e9, layers: 24, hidden: 896, heads: 14, kvHeads: 2, headDim: 64, vocab: 151936 },
  'qwen2.5-1.5b': { params: 1.54e9, layers: 28, hidden: 1536, heads: 12, kvHeads: 2, headDim: 128, vocab: 151936 },
  'qwen2.5-7b': { params: 7.62e9, layers: 28, hidden: 3584, heads: 28, kvHeads: 4, headDim: 128, vocab: 152064 },
  'qwen2.5-14b': { params: 14.7e9, layers: 48, hidden: 5120, heads: 40, kvHeads: 8, headDim: 128, vocab: 152064 },
  'qwen2.5-32b': { params: 32.5e9, layers: 64, hidden: 5120, heads: 40, kvHeads: 8, headDim: 128, vocab: 152064 },
  'qwen2.5-72b': { params: 72.7e9, layers: 80, hidden: 8192, heads: 64, kvHeads: 8, headDim: 128, vocab: 152064 },
  'gemma-2b': { params: 2.51e9, layers: 18, hidden: 2048, heads: 8, kvHeads: 1, headDim: 256, vocab: 256000 },
  'gemma-7b': { params: 8.54e9, layers: 28, hidden: 3072, heads: 16, kvHeads: 16, headDim: 256, vocab: 256000 },
  'gemma-2-9b': { params: 9.24e9, layers: 42, hidden: 3584, heads: 16, kvHeads: 8, headDim: 256, vocab: 256000 },
  'gemma-2-27b': { params: 27.2e9, layers: 46, hidden: 4608, heads: 32, kvHeads: 16, headDim: 128, vocab: 256000 },
  'phi-2': { params: 2.78e9, layers: 32, hidden: 2560, heads: 32, kvHeads: 32, headDim: 80, vocab: 51200 },
  'phi-3-mini': { params: 3.82e9, layers: 32, hidden: 3072, heads: 32, kvHeads: 32, headDim: 96, vocab: 32064 },
  // Diffusion pipelines: all their networks together (UNet or transformer, text encoders, VAE).
  'stable-diffusion-v1-5': { params: 1.07e9 },
  'stable-diffusion-xl': { params: 3.5e9 },
  'flux.1': { params: 16.9e9 },
};

export function knownModel(id: string): { key: string; shape: ModelShape } | undefined {
  const lower = id
    .toLowerCase()
    .replace(/meta-llama-3/, 'llama-3')
    .replace(/_/g, '-');
  const base = lower.split('/').pop()!;
  const keys = Object.keys(KNOWN)
    .filter((key) => base === key || base.startsWith(`${key}-`) || (key.length > 5 && base.startsWith(key)))
    .sort((a, b) => b.length - a.length);
  const key = keys[0];
  return key ? { key, shape: KNOWN[key]! } : undefined;
}

/** "Qwen2.5-Coder-7B-Instruct" → 7e9; "TinyLlama-1.1B" → 1.1e9; "…-350m" → 3.5e8. */
export function paramsFromName(id: string): number | undefined {
  const match = /(?:^|[-_/.])(\d+(?:\.\d+)?)([bm])(?=$|[-_.])/i.exec(id.split('/').pop()!);
  if (!match) return undefined;
  return Number(match[1]) * (match[2]!.toLowerCase() === 'b' ? 1e9 : 1e6);
}

const count = z.number().int().positive().optional();
const HfConfigSchema = z.looseObject({
  num_hidden_layers: count,
  n_layer: count,
  hidden_size: count,
  n_embd: count,
  intermediate_size: count,
  n_inner: z.number().int().positive().nullable().optional(),
  vocab_size: count,
  num_attention_heads: count,
  n_head: count,
  num_key_value_heads: count,
  head_dim: count,
  tie_word_embeddings: z.boolean().optional(),
  num_local_experts: count,
  num_experts: count,
  moe_intermediate_size: count,
  torch_dtype: z.string().optional(),
  quantization_config: z.looseObject({ quant_method: z.string().optional(), bits: z.number().optional() }).optional(),
});

export interface ConfigModel {
  readonly shape: ModelShape;
  readonly dtype?: string;
  readonly quantization?: string;
}

/**
 * A transformers config.json, counted as decoder blocks: attention (q, o full; k, v at KV width), a gated
 * MLP (3 matrices) where the config names an intermediate size of its own, else GPT-2's 4h two-matrix MLP;
 * MoE multiplies the MLP by the experts. Embeddings once when tied, twice when not. Biases and norms left out
 * (under 0.1%). Undefined where the text is not such a config.
 */
export function modelFromConfig(text: string): ConfigModel | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = HfConfigSchema.safeParse(json);
  if (!parsed.success) return undefined;
  const c = parsed.data;
  const layers = c.num_hidden_layers ?? c.n_layer;
  const hidden = c.hidden_size ?? c.n_embd;
  const heads = c.num_attention_heads ?? c.n_head;
  if (!layers || !hidden || !heads) return undefined;
  const kvHeads = c.num_key_value_heads ?? heads;
  const headDim = c.head_dim ?? hidden / heads;
  const vocab = c.vocab_size ?? 0;
  const gated = c.intermediate_size !== undefined;
  const intermediate = c.moe_intermediate_size ?? c.intermediate_size ?? c.n_inner ?? 4 * hidden;
  const experts = c.num_local_experts ?? c.num_experts ?? 1;
  const attention = 2 * hidden * heads * headDim + 2 * hidden * kvHeads * headDim;
  const mlp = (gated ? 3 : 2) * hidden * intermediate * experts;
  const tied = c.tie_word_embeddings ?? !gated;
  const params = layers * (attention + mlp) + vocab * hidden * (tied ? 1 : 2);
  return {
    shape: {
      params,
      layers,
      hidden,
      heads,
      kvHeads,
      headDim,
      vocab,
      intermediate,
      tiedEmbeddings: tied,
      ...(experts > 1 ? { experts } : {}),
    },
    dtype: c.torch_dtype,
    quantization: c.quantization_config?.quant_method,
  };
}
