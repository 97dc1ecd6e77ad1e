import * as assert from 'node:assert/strict';
import { builtinCatalog } from '../../src/catalog/catalog';
import type { Analysis } from '../../src/workspace/analyze';
import { estimateMemory } from '../../src/workspace/estimate';
import { fittingGpus } from '../../src/workspace/fits';
import { knownModel, modelFromConfig, paramsFromName } from '../../src/workspace/models';

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;
const base: Analysis = {
  workload: 'inference',
  precision: 'bf16',
  checkpointing: false,
  gpuCount: 1,
  packages: [],
  findings: [],
  assumptions: [],
};
const withModel = (id: string, extra: Partial<Analysis>): Analysis => ({
  ...base,
  model: { name: id, shape: knownModel(id)!.shape, source: 'known model' },
  ...extra,
});
const near = (actual: number, expected: number, tolerance: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} is not ${expected} ± ${tolerance}`);

describe('VRAM estimate', () => {
  // accelerate's docs (usage_guides/model_size_estimator.md), `accelerate estimate-memory bert-base-cased`:
  // Total Size float32 413.18 MB, float16 206.59 MB, int8 103.29 MB, int4 51.65 MB; Training using Adam 1.61 GB.
  for (const [precision, mb] of [
    ['fp32', 413.18],
    ['fp16', 206.59],
    ['int8', 103.29],
    ['int4', 51.65],
  ] as const) {
    it(`bert-base-cased weights in ${precision}: accelerate's ${mb} MB`, () => {
      const estimate = estimateMemory(withModel('bert-base-cased', { precision }));
      near(estimate.parts.weights!.bytes / MIB, mb, 0.015, 'MiB');
    });
  }

  it("bert-base-cased full fp32 training: accelerate's 1.61 GB “training using Adam” (weights, grads, 2 states)", () => {
    const e = estimateMemory(
      withModel('bert-base-cased', { workload: 'training', precision: 'fp32', optimizer: 'adamw' }),
    );
    const states = e.parts.weights!.gib + e.parts.gradients!.gib + e.parts.optimizer!.gib;
    near(states, 1.61, 0.01, 'GiB');
  });

  it('mixed-precision AdamW: the transformers docs’ 18 bytes per parameter (6 weights + 4 grads + 8 states)', () => {
    const analysis: Analysis = {
      ...base,
      workload: 'training',
      model: { name: 'x', shape: { params: 1e9 }, source: '.gpudev.yaml' },
      optimizer: 'adamw',
    };
    const e = estimateMemory(analysis);
    near(e.parts.weights!.gib + e.parts.gradients!.gib + e.parts.optimizer!.gib, (18 * 1e9) / GIB, 0.01, 'GiB');
    assert.match(e.unknowns.join('\n'), /activations: the model shape .* is unknown/);
  });

  it('8-bit Adam keeps 2 bytes of state per parameter, SGD with momentum 4', () => {
    const shape = { params: 1e9 };
    const of = (optimizer: Analysis['optimizer']) =>
      estimateMemory({ ...base, workload: 'training', model: { name: 'x', shape, source: 'config' }, optimizer }).parts
        .optimizer!.gib;
    near(of('adamw-8bit'), (2 * 1e9) / GIB, 0.01, '8-bit');
    near(of('sgd'), (4 * 1e9) / GIB, 0.01, 'SGD');
  });

  it('KV cache of a GQA model, by hand: Llama-3.1-8B, 8 KV heads × 128, 8192 tokens × 4 sequences in bf16', () => {
    const e = estimateMemory(withModel('meta-llama/Llama-3.1-8B-Instruct', { sequence: 8192, batch: 4 }));
    const byHand = 2 * 32 * 8 * 128 * 8192 * 4 * 2; // K and V × layers × KV heads × head_dim × tokens × seqs × bytes
    assert.equal(byHand, 4 * GIB);
    assert.equal(e.parts.kvCache!.gib, 4);
    near(e.parts.weights!.gib, (8.03e9 * 2) / GIB, 0.01, 'weights');
  });

  it('QLoRA: NF4 weights, and LoRA adapters on q and v counted by hand', () => {
    const e = estimateMemory(
      withModel('mistralai/Mistral-7B-v0.1', {
        workload: 'finetune',
        precision: 'int4',
        quantization: 'bnb-4bit',
        lora: { rank: 16 },
        checkpointing: true,
        batch: 4,
        sequence: 1024,
        optimizer: 'paged-adamw-8bit',
      }),
    );
    const adapters = 32 * 16 * (4096 + 32 * 128 + 4096 + 8 * 128); // layers × r × (q in+out + v in+out)
    near(e.parts.adapters!.gib, (adapters * 4) / GIB, 0.005, 'adapters');
    near(e.parts.weights!.gib, (7.24e9 * 4.127) / 8 / GIB, 0.01, 'NF4 weights');
    assert.ok(e.totalGiB < 8, `${e.totalGiB}`);
  });

  it('ZeRO-3 shards weights, gradients and optimizer states over the GPUs; DDP does not', () => {
    const shape = { params: 7e9 };
    const of = (sharding: Analysis['sharding']) =>
      estimateMemory({
        ...base,
        workload: 'training',
        gpuCount: 8,
        model: { name: 'x', shape, source: 'config' },
        optimizer: 'adamw',
        ...(sharding ? { sharding } : {}),
      });
    const ddp = of('ddp');
    const zero3 = of('zero3');
    near(zero3.parts.optimizer!.gib * 8, ddp.parts.optimizer!.gib, 0.05, 'optimizer');
    near(zero3.parts.weights!.gib * 8, ddp.parts.weights!.gib, 0.05, 'weights');
    assert.equal(of('zero1').parts.weights!.gib, ddp.parts.weights!.gib);
  });

  it('names what it does not know, and gives a range for a size read from the name', () => {
    const e = estimateMemory({
      ...base,
      model: { name: 'acme/SuperLM-13b', shape: { params: paramsFromName('acme/SuperLM-13b')! }, source: 'name size' },
    });
    assert.equal(paramsFromName('acme/SuperLM-13b'), 13e9);
    assert.ok(e.lowGiB < e.totalGiB && e.totalGiB < e.highGiB);
    assert.match(e.unknowns.join('\n'), /KV cache: the model shape/);
  });

  it('gpu.memoryGiB overrides the total and says so', () => {
    const e = estimateMemory(withModel('gpt2', {}), 20);
    assert.equal(e.totalGiB, 20);
    assert.match(e.unknowns.join('\n'), /gpu\.memoryGiB/);
  });

  it('a config.json is counted as its blocks: TinyLlama-1.1B within 0.01% of its 1,100,048,384', () => {
    const model = modelFromConfig(
      JSON.stringify({
        hidden_size: 2048,
        intermediate_size: 5632,
        num_attention_heads: 32,
        num_hidden_layers: 22,
        num_key_value_heads: 4,
        vocab_size: 32000,
        tie_word_embeddings: false,
      }),
    )!;
    near(model.shape.params, 1_100_048_384, 1_100_048_384 * 1e-4, 'params');
    assert.equal(model.shape.headDim, 64);
  });

  it('a config.json of a Mixtral-style MoE multiplies the MLP by its experts (46.7B)', () => {
    const model = modelFromConfig(
      JSON.stringify({
        hidden_size: 4096,
        intermediate_size: 14336,
        num_attention_heads: 32,
        num_hidden_layers: 32,
        num_key_value_heads: 8,
        vocab_size: 32000,
        num_local_experts: 8,
        tie_word_embeddings: false,
      }),
    )!;
    near(model.shape.params, 46.7e9, 0.1e9, 'params');
  });

  it('a config.json of GPT-2 (n_layer, n_embd, tied, 4h MLP) is GPT-2’s 124M', () => {
    const model = modelFromConfig(
      JSON.stringify({ n_layer: 12, n_embd: 768, n_head: 12, vocab_size: 50257, n_inner: null }),
    )!;
    near(model.shape.params, 124_439_808, 124_439_808 * 0.01, 'params');
  });
});

describe('GPUs an estimate fits', () => {
  const catalog = builtinCatalog();
  it('leaves headroom: 22.45 GiB fits a 24 GB card, not a 20 GB one; slowest first; develop against the smallest GeForce', () => {
    const fits = fittingGpus(catalog, 22.45, ['l4', 'a100', 'rtx4090', 'nonsense']);
    assert.ok(fits.fits.includes('rtx3090') && fits.fits.includes('rtx4090'));
    assert.ok(!fits.fits.includes('rtx4080') && !fits.fits.includes('l4'));
    assert.ok(fits.fits.indexOf('rtx3090') < fits.fits.indexOf('h100-sxm'));
    assert.equal(fits.developAgainst, 'rtx3090');
    assert.deepEqual(fits.reserve, ['a100', 'rtx4090']);
  });
  it('a GRES type that names several variants fits only when the smallest does', () => {
    assert.deepEqual(fittingGpus(catalog, 60, ['a100', 'h100']).reserve, ['h100']);
  });
  it('nothing fits 300 GiB on one GPU', () => {
    const fits = fittingGpus(catalog, 300);
    assert.deepEqual(fits.fits, []);
    assert.equal(fits.developAgainst, undefined);
  });
});
