import * as assert from 'node:assert/strict';
import { builtinCatalog } from '../../src/catalog/catalog';
import { planMultiCosplay } from '../../src/cosplay/multiPlan';
import { planCosplay } from '../../src/cosplay/planner';
import { APPLY_KIND_LABELS, applyKinds, planForProcesses, processDetail } from '../../src/cosplay/process/applyKind';
import { processRefusal, rootOnlyMutations } from '../../src/cosplay/process/rootSteps';

const entry = (key: string) => {
  const found = builtinCatalog().lookup(key);
  if (!found.ok) throw new Error(found.error.message);
  return found.entry;
};
const plan = (strategy: 'mig' | 'mps') => {
  const planned = planCosplay({ target: entry('rtx3090'), host: entry('h100-sxm'), hostGpuCount: 8, strategy });
  if (!planned.ok) throw new Error(planned.error.message);
  return planned.plan;
};
const facts = { hostLabel: 'gpu-box', sudo: false, dockerProblem: undefined };

describe('applying in a container or as processes', () => {
  it('offers both where Docker answers, the container first', () => {
    const kinds = applyKinds({ ...facts, plan: plan('mps') });
    assert.deepEqual(kinds, { ok: true, kinds: ['container', 'process'] });
    assert.deepEqual(kinds.ok && kinds.kinds.map((k) => APPLY_KIND_LABELS[k]), [
      'Apply',
      'Apply as Processes (no Docker)',
    ]);
  });

  it('chooses a process session where Docker does not answer, and says why', () => {
    const kinds = applyKinds({ ...facts, plan: plan('mps'), dockerProblem: 'connect ENOENT /var/run/docker.sock' });
    assert.deepEqual(kinds, {
      ok: true,
      kinds: ['process'],
      note: 'Docker is not usable on gpu-box (connect ENOENT /var/run/docker.sock): a process session instead',
    });
  });

  it('keeps a MIG plan in a container without sudo, and refuses it without Docker, with the way out', () => {
    assert.deepEqual(applyKinds({ ...facts, plan: plan('mig') }), { ok: true, kinds: ['container'] });
    const refused = applyKinds({ ...facts, plan: plan('mig'), dockerProblem: 'no socket' });
    assert.ok(!refused.ok);
    assert.match(
      refused.error.message,
      /^Docker is not usable on gpu-box \(no socket\), and a MIG slice can only be made by root/,
    );
    assert.match(refused.error.hint ?? '', /--strategy mps/);
    assert.equal(planForProcesses('no socket', false), true, 'planned with MPS where a process session has no root');
    assert.equal(planForProcesses('no socket', true), false);
    assert.equal(planForProcesses(undefined, false), false);
  });

  it('with sudo a process session makes MIG slices too', () => {
    assert.equal(processRefusal(plan('mig'), true), undefined);
    assert.deepEqual(applyKinds({ ...facts, plan: plan('mig'), sudo: true }), {
      ok: true,
      kinds: ['container', 'process'],
    });
  });

  it('a session of several GPUs as processes: one slice per GPU, planned for as many GPUs as given', () => {
    const multi = planMultiCosplay(
      { target: entry('rtx3090'), host: entry('h100-sxm'), hostGpuCount: 8, strategy: 'mps' },
      [{ index: 2 }, { index: 5 }],
    );
    assert.ok(multi.ok);
    assert.deepEqual(applyKinds({ ...facts, plan: multi.gpus[0]!.plan, gpus: multi.gpus }), {
      ok: true,
      kinds: ['container', 'process'],
    });
    assert.match(processRefusal(plan('mps'), false, multi.gpus)!.message, /plan cosplays 1 GPUs; 2 were given/);
    const slices = multi.gpus.map((g) => ({ ...g, slices: 2 }));
    assert.match(processRefusal(multi.gpus[0]!.plan, true, slices)!.message, /one MIG slice per GPU/);
    const refused = applyKinds({ ...facts, plan: multi.gpus[0]!.plan, gpus: slices, dockerProblem: 'no socket' });
    assert.ok(!refused.ok && /one MIG slice per GPU/.test(refused.error.message));
  });

  it('the dialog says what needs root: made with sudo, or each step left out with its cost', () => {
    const mps = plan('mps');
    assert.ok(rootOnlyMutations(mps).length > 0 && !rootOnlyMutations(mps).some((m) => m.change.kind === 'mpsDaemon'));
    const withSudo = processDetail(mps, true);
    assert.match(withSudo, /With sudo: .*lock graphics clocks/);
    assert.doesNotMatch(withSudo, /not applied/);
    const without = processDetail(mps, false);
    assert.equal((without.match(/• not applied: needs root — /g) ?? []).length, rootOnlyMutations(mps).length);
  });
});
