import * as assert from 'node:assert/strict';
import { builtinCatalog } from '../../src/catalog/catalog';
import { analyzeDirectory } from '../../src/workspace/report';

const root = 'test/fixtures/workspaces';
const report = (name: string) => analyzeDirectory(`${root}/${name}`, builtinCatalog());
const findings = (name: string) => report(name).findings.map((f) => `${f.file}:${f.line} ${f.what}`);

describe('workspace analysis: fixture workspaces, every finding with its line', () => {
  it('vllm-server', () => {
    const r = report('vllm-server');
    assert.deepEqual(
      { workload: r.workload, gpuCount: r.gpuCount, model: r.model, precision: r.precision },
      {
        workload: 'inference',
        gpuCount: 1,
        model: { name: 'meta-llama/Llama-3.1-8B-Instruct', params: 8030000000, source: 'known model' },
        precision: 'bf16',
      },
    );
    assert.deepEqual(findings('vllm-server'), [
      'requirements.txt:2 package vllm',
      'serve.py:3 vLLM serves meta-llama/Llama-3.1-8B-Instruct',
      'serve.py:5 vLLM max_model_len 8192',
      'serve.py:6 up to 4 sequences at once (vLLM)',
      'serve.py:7 bf16 weights and compute',
    ]);
  });
  it('qlora-finetune', () => {
    const r = report('qlora-finetune');
    assert.deepEqual(
      { workload: r.workload, gpuCount: r.gpuCount, model: r.model, precision: r.precision },
      {
        workload: 'finetune',
        gpuCount: 1,
        model: { name: 'mistralai/Mistral-7B-v0.1', params: 7240000000, source: 'known model' },
        precision: 'int4',
      },
    );
    assert.deepEqual(findings('qlora-finetune'), [
      'pyproject.toml:7 package torch',
      'pyproject.toml:8 package transformers',
      'pyproject.toml:9 package peft',
      'pyproject.toml:10 package bitsandbytes',
      'pyproject.toml:14 package trl',
      'train.py:7 bitsandbytes 4-bit weights (QLoRA)',
      'train.py:11 loads model mistralai/Mistral-7B-v0.1',
      'train.py:12 gradient checkpointing',
      'train.py:13 LoRA adapters (peft LoraConfig), r=16',
      'train.py:21 per-device batch 4',
      'train.py:22 optimizer paged-adamw-8bit',
      'train.py:23 bf16 weights and compute',
      'train.py:25 sequence length 1024',
    ]);
  });
  it('full-finetune', () => {
    const r = report('full-finetune');
    assert.deepEqual(
      { workload: r.workload, gpuCount: r.gpuCount, model: r.model, precision: r.precision },
      {
        workload: 'training',
        gpuCount: 1,
        model: { name: './model', params: 1099956224, source: 'config' },
        precision: 'bf16',
      },
    );
    assert.deepEqual(findings('full-finetune'), [
      'finetune.py:3 loads model ./model',
      'finetune.py:6 per-device batch 2',
      'finetune.py:7 gradient checkpointing',
      'finetune.py:8 bf16 weights and compute',
      'model/config.json:1 model config: 22 layers, hidden 2048, 1.10B parameters',
      'requirements.txt:1 package torch',
      'requirements.txt:2 package transformers',
      'requirements.txt:3 package accelerate',
    ]);
  });
  it('diffusers-pipeline', () => {
    const r = report('diffusers-pipeline');
    assert.deepEqual(
      { workload: r.workload, gpuCount: r.gpuCount, model: r.model, precision: r.precision },
      {
        workload: 'inference',
        gpuCount: 1,
        model: { name: 'stabilityai/stable-diffusion-xl-base-1.0', params: 3500000000, source: 'known model' },
        precision: 'fp16',
      },
    );
    assert.deepEqual(findings('diffusers-pipeline'), [
      'generate.py:4 loads model stabilityai/stable-diffusion-xl-base-1.0',
      'generate.py:5 fp16 weights and compute',
      'requirements.txt:1 package diffusers',
      'requirements.txt:2 package transformers',
      'requirements.txt:3 package torch',
    ]);
  });
  it('torchrun-ddp', () => {
    const r = report('torchrun-ddp');
    assert.deepEqual(
      { workload: r.workload, gpuCount: r.gpuCount, model: r.model, precision: r.precision },
      {
        workload: 'training',
        gpuCount: 4,
        model: { name: 'gpt2-large', params: 774030080, source: 'known model' },
        precision: 'bf16',
      },
    );
    assert.deepEqual(findings('torchrun-ddp'), [
      'launch.sh:2 model gpt2-large on the command line',
      'launch.sh:2 per-device batch 8',
      'launch.sh:2 torchrun on 4 GPUs',
      'train.py:1 imports torch',
      'train.py:3 imports transformers',
      'train.py:5 loads model gpt2-large',
      'train.py:6 DDP: a full copy on every GPU',
      'train.py:7 optimizer adamw',
      'train.py:8 sequence length 1024',
    ]);
  });
  it('dockerfile-based', () => {
    const r = report('dockerfile-based');
    assert.deepEqual(
      { workload: r.workload, gpuCount: r.gpuCount, model: r.model, precision: r.precision },
      {
        workload: 'inference',
        gpuCount: 1,
        model: { name: 'Qwen/Qwen2.5-1.5B-Instruct', params: 1540000000, source: 'known model' },
        precision: 'bf16',
      },
    );
    assert.deepEqual(findings('dockerfile-based'), [
      'Dockerfile:1 container image nvcr.io/nvidia/pytorch:24.08-py3 (FROM)',
      'Dockerfile:2 package transformers',
      'Dockerfile:3 package accelerate',
      'infer.py:3 loads model Qwen/Qwen2.5-1.5B-Instruct',
    ]);
  });
  it('empty', () => {
    const r = report('empty');
    assert.deepEqual(
      { workload: r.workload, gpuCount: r.gpuCount, model: r.model, precision: r.precision },
      { workload: 'interactive', gpuCount: 1, model: null, precision: 'bf16' },
    );
    assert.deepEqual(findings('empty'), []);
  });
});
