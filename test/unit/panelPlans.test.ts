import * as assert from 'node:assert/strict';
import { PanelPlans } from '../../src/reserve/panelPlans';

describe("the reservation panel's plans (what Submit may act on)", () => {
  it('a new dry run drops the plan on screen at once, even when it fails', () => {
    const plans = new PanelPlans<string>();
    const first = plans.begin();
    assert.ok(plans.settle(first, '1 × 2 l4'));
    plans.begin(); // "90 minutes": refused before anything is planned
    assert.deepEqual(plans.take(first), {
      refused: 'That table is not the latest dry run: run Dry Run again, then Submit.',
    });
  });

  it('a dry run overtaken by a newer one is not shown, and cannot be submitted', () => {
    const plans = new PanelPlans<string>();
    const slow = plans.begin();
    const fast = plans.begin();
    assert.ok(plans.settle(fast, 'new'));
    assert.equal(plans.settle(slow, 'old'), false);
    assert.equal(plans.take(fast), 'new');
    assert.ok('refused' in (plans.take(slow) as object));
  });

  it('a plan is submitted once: a second Submit while the first runs, or after it, is refused', () => {
    const plans = new PanelPlans<string>();
    const id = plans.begin();
    plans.settle(id, 'plan');
    assert.equal(plans.take(id), 'plan');
    assert.deepEqual(plans.take(id), { refused: 'This plan is being submitted already.' });
    plans.finish(id, ['42']);
    assert.deepEqual(plans.take(id), {
      refused: 'This plan was submitted already (job 42): run Dry Run again to reserve more.',
    });
  });

  it('a submit that failed leaves the plan open to try again', () => {
    const plans = new PanelPlans<string>();
    const id = plans.begin();
    plans.settle(id, 'plan');
    plans.take(id);
    plans.finish(id, undefined);
    assert.equal(plans.take(id), 'plan');
  });
});
