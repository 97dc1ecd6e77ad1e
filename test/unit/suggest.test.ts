import * as assert from 'node:assert/strict';
import { builtinCatalog } from '../../src/catalog/catalog';
import { rankByTokens, searchTokens } from '../../src/core/suggest';

const catalog = builtinCatalog();
const gpus = catalog.entries.map((e) => ({ value: e.key, names: [e.key, e.name, ...e.aliases] }));

describe('did-you-mean ranking by tokens', () => {
  it('splits on case, spaces, hyphens and where letters turn into digits', () => {
    assert.deepEqual(searchTokens('RTX 3090ti-Super'), ['rtx', '3090ti', 'super']);
    assert.deepEqual(searchTokens('rtx3090ti'), ['rtx', '3090ti']);
    assert.deepEqual(searchTokens('  NVIDIA  GeForce_RTX-4090 '), ['nvidia', 'geforce', 'rtx', '4090']);
    assert.deepEqual(searchTokens('--'), []);
  });

  it('"rtx 3090ti super": the GPU with most of its tokens first (rtx3090ti), not the nearest by edits', () => {
    assert.equal(rankByTokens('rtx 3090ti super', gpus)[0], 'rtx3090ti');
    assert.equal(rankByTokens('RTX-3090TI SUPER', gpus)[0], 'rtx3090ti');
    assert.equal(rankByTokens('geforce 3090 ti super', gpus)[0], 'rtx3090ti', 'tokens run together in a name count');
  });

  it('a model number weighs more than a word every GPU of a family shares', () => {
    assert.equal(rankByTokens('super 4090', gpus)[0], 'rtx4090');
    assert.equal(rankByTokens('rtx-3090', gpus)[0], 'rtx3090', 'the exact one before the Ti, both holding every token');
  });

  it('typos still find the GPU a few edits away, ties in the order given', () => {
    assert.deepEqual(
      rankByTokens(
        'rtx 3099',
        [...gpus].sort((a, b) => a.value.localeCompare(b.value)),
      ),
      ['rtx3090', 'rtx3060', 'rtx3070'],
    );
    assert.equal(rankByTokens('h10O', gpus)[0]?.startsWith('h100'), true);
  });

  it('suggests nothing for what is no GPU at all', () => {
    assert.deepEqual(rankByTokens('toaster', gpus), []);
    assert.deepEqual(rankByTokens('', gpus), []);
  });

  it("the catalog's hint (the CLI's did-you-mean) uses it", () => {
    const found = catalog.lookup('rtx 3090ti super');
    assert.ok(!found.ok);
    assert.match(found.error.hint!, /^did you mean rtx3090ti[,?]/);
  });
});
