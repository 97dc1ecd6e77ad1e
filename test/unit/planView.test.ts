import * as assert from 'node:assert/strict';
import { builtinCatalog } from '../../src/catalog/catalog';
import { busyByOthers, busyNote, processesOnGpu } from '../../src/cosplay/busyGpu';
import { planCosplay, type CosplayPlan, type Strategy } from '../../src/cosplay/planner';
import { planCommandLine } from '../../src/cosplay/planText';
import { planView } from '../../src/cosplay/planView';
import { simulatedNote } from '../../src/hosts/sshHosts';
import type { Runner } from '../../src/hosts/runner';

const UUID = 'GPU-e5f404f3-cc2a-cf0c-219f-dcf1a4e223f2';
const catalog = builtinCatalog();
function plan(target: string, host: string, strategy?: Strategy): CosplayPlan {
  const [t, h] = [catalog.lookup(target), catalog.lookup(host)];
  assert.ok(t.ok && h.ok);
  const result = planCosplay({ target: t.entry, host: h.entry, strategy });
  assert.ok(result.ok, result.ok ? '' : result.error.message);
  return result.plan;
}

describe('the plan panel for a real GPU', () => {
  const gpu2 = { index: 2, uuid: UUID };

  it("shows the GPU's index in every command and the MIG device in words", () => {
    const view = planView(plan('rtx3090', 'h100-sxm'), { target: 'rtx3090', host: 'h100-sxm', gpu: gpu2 });
    const commands = view.mutations.map((m) => m.command);
    assert.ok(commands.includes('nvidia-smi -i 2 -pm 1'), commands.join('\n'));
    assert.ok(commands.includes('nvidia-smi mig -i 2 -cgi 5:0 -C'), commands.join('\n'));
    assert.deepEqual(view.device, { text: "the MIG device's UUID, read back after creation", known: false });
  });

  it('leaves no placeholder in any command, whatever the strategy', () => {
    for (const [target, host, strategy] of [
      ['rtx3090', 'h100-sxm', 'mig'],
      ['rtx3090', 'h100-sxm', 'mps'],
      ['l4', 'h100-sxm', 'memory'],
      ['rtx3060', 'rtx4090', undefined],
    ] as const) {
      const view = planView(plan(target, host, strategy), { target, host, gpu: gpu2 });
      const shown = [...view.mutations.map((m) => m.command), view.device.text].join('\n');
      assert.doesNotMatch(shown, /[{}]/, `${target} on ${host} (${strategy ?? 'auto'}):\n${shown}`);
    }
    const mps = planView(plan('rtx3090', 'h100-sxm', 'mps'), { target: 'rtx3090', host: 'h100-sxm', gpu: gpu2 });
    assert.match(
      mps.mutations.map((m) => m.command).join('\n'),
      /CUDA_MPS_PIPE_DIRECTORY=<the session's MPS folder>\/pipe/,
    );
    assert.deepEqual(mps.device, { text: UUID, known: true }, 'without MIG the container gets the GPU itself');
  });

  it('a simulated host (the demo lab) says so; a real one says nothing of it', () => {
    const args = { target: 'rtx3090', host: 'h100-sxm', gpu: gpu2 };
    const lab = planView(plan('rtx3090', 'h100-sxm'), args, undefined, { simulated: simulatedNote('lab') });
    assert.match(lab.simulated!, /^lab is a simulation \(the demo lab\): .*nothing here changes or measures a GPU/);
    assert.equal(planView(plan('rtx3090', 'h100-sxm'), args).simulated, undefined);
  });

  it('a host model plan says <GPU> where the GPU goes', () => {
    const view = planView(plan('rtx3090', 'h100-sxm'), { target: 'rtx3090', host: 'h100-sxm' });
    assert.ok(view.mutations.some((m) => m.command === 'nvidia-smi mig -i <GPU> -cgi 5:0 -C'));
    assert.equal(view.commandLine, 'gpudev plan rtx3090 --host h100-sxm');
  });

  it('the Reproduce line is the `gpudev cosplay up` that applies it on that GPU', () => {
    assert.equal(
      planCommandLine({ target: 'rtx3090', host: 'h100-sxm', gpu: gpu2 }),
      'gpudev cosplay up rtx3090 --gpu 2',
    );
    assert.equal(
      planCommandLine({
        target: 'rtx3090',
        host: 'h100-sxm',
        strategy: 'mps',
        gpu: { ...gpu2, index: 5, sshTarget: 'root@127.0.0.1:2361', sudo: true, image: 'my registry/img:1' },
      }),
      "gpudev cosplay up rtx3090 --host root@127.0.0.1:2361 --gpu 5 --strategy mps --sudo --image 'my registry/img:1'",
    );
  });
});

/** A host whose nvidia-smi lists the compute apps given, `ps` knowing the owners given, run as `me`. */
function host(apps: string, owners: Record<number, string>, me = 'alice'): Runner & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    label: 'lab',
    calls,
    run(argv) {
      calls.push([...argv]);
      const out = (stdout: string) => Promise.resolve({ exitCode: 0, stdout, stderr: '' });
      if (argv[0] === 'nvidia-smi') return out(apps);
      if (argv[0] === 'id') return out(`${me}\n`);
      const pids = argv[argv.length - 1]!.split(',').map(Number);
      return out(
        pids
          .filter((pid) => owners[pid])
          .map((pid) => `${pid} ${owners[pid]}\n`)
          .join(''),
      );
    },
  };
}

describe('the processes on a GPU the plan panel names', () => {
  const OTHER = 'GPU-11111111-2222-3333-4444-555555555555';
  const apps = [
    `2085213, /opt/conda/bin/python3, 11742, ${UUID}`,
    `4242, python, 2048, ${UUID}`,
    `9, other-gpu, 100, ${OTHER}`,
  ].join('\n');

  it("names every process on that GPU, another user's (or an unknown owner's) first, with memory and load", async () => {
    const found = await processesOnGpu(host(apps, { 4242: 'alice' }), UUID);
    assert.ok(!('message' in found));
    assert.equal(
      busyNote(found, { index: 2, utilizationPct: 100 }, true),
      'GPU 2 is in use (2 processes, 100 % utilisation): /opt/conda/bin/python3 (pid 2085213, owner unknown, 11.5 GiB), python (pid 4242, yours, 2.0 GiB). Applying changes its MIG mode, clocks or power limit under them: Apply asks before going on.',
    );
    const others = await busyByOthers(host(apps, { 4242: 'alice' }), UUID);
    assert.ok(Array.isArray(others));
    assert.deepEqual(
      others.map((p) => p.pid),
      [2085213],
      'apply asks about the others only',
    );
  });

  it('says so when only your own processes run, or when the plan changes nothing GPU-wide', async () => {
    const mine = await processesOnGpu(host(apps, { 4242: 'alice', 2085213: 'alice' }), UUID);
    assert.ok(!('message' in mine));
    assert.match(
      busyNote(mine, { index: 0, utilizationPct: null }, true)!,
      /\(2 processes\): .*yours.*\. Applying changes .* under them\.$/,
    );
    const theirs = await processesOnGpu(host(apps, { 2085213: 'bob' }), UUID);
    assert.ok(!('message' in theirs));
    assert.match(
      busyNote(theirs, { index: 0, utilizationPct: 5 }, false)!,
      /pid 2085213, bob, .*shares its memory and compute with them/,
    );
  });

  it('says nothing for an idle GPU, and asks no more of the host', async () => {
    const idle = host(`9, other-gpu, 100, ${OTHER}\n`, {});
    const found = await processesOnGpu(idle, UUID);
    assert.ok(!('message' in found));
    assert.equal(busyNote(found, { index: 2, utilizationPct: 0 }, true), undefined);
    assert.equal(idle.calls.length, 1, 'no ps or id for a GPU without processes');
  });

  it('names at most five and counts the rest', async () => {
    const many = Array.from({ length: 8 }, (_, i) => `${100 + i}, worker${i}, 10, ${UUID}`).join('\n');
    const found = await processesOnGpu(host(many, {}), UUID);
    assert.ok(!('message' in found));
    assert.match(
      busyNote(found, { index: 0, utilizationPct: 90 }, true)!,
      /worker4 \(pid 104, owner unknown, 0\.0 GiB\) and 3 more\./,
    );
  });
});
