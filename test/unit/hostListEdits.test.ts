import * as assert from 'node:assert/strict';
import { duplicateOf, hostNameFor, withHostChanged, withHostRemoved } from '../../src/hosts/hostListEdits';

describe("edits of the user's gpuDev.hosts", () => {
  const list = [
    { name: 'root@127.0.0.1:2232', ssh: 'root@127.0.0.1:2232', sudo: true },
    { name: 'box', ssh: 'alice@box' },
  ];

  it('names a typed host by what was typed, keeping a port other than 22', () => {
    assert.equal(hostNameFor(' root@127.0.0.1:2233 '), 'root@127.0.0.1:2233');
    assert.equal(hostNameFor('alice@gpu-box:22'), 'alice@gpu-box');
    assert.equal(hostNameFor('gpu-box'), 'gpu-box');
  });

  it('tells hosts apart by port, and finds the same target written another way', () => {
    assert.equal(duplicateOf(list, 'root@127.0.0.1:2233', 'root@127.0.0.1:2233'), undefined);
    assert.equal(duplicateOf(list, 'root@127.0.0.1:2232', 'other')?.name, 'root@127.0.0.1:2232');
    assert.equal(duplicateOf(list, 'alice@BOX:22', 'alice@BOX')?.name, 'box');
    assert.equal(duplicateOf(list, 'bob@box', 'bob@box'), undefined, 'another user is another entry');
    assert.equal(duplicateOf(list, 'x@y', 'box')?.name, 'box', 'a name already taken');
    assert.equal(duplicateOf(list, 'alice@box', 'box', 'box'), undefined, 'an entry is not its own duplicate');
  });

  it('changes or removes one entry by name, keeping its other fields and entries it cannot read', () => {
    const withUnreadable = [...list, 'not an entry', { name: 'future', ssh: 'f', someNewField: 1 }];
    assert.deepEqual(withHostChanged(withUnreadable, 'root@127.0.0.1:2232', 'root@127.0.0.1:2240'), [
      { name: 'root@127.0.0.1:2232', ssh: 'root@127.0.0.1:2240', sudo: true },
      ...withUnreadable.slice(1),
    ]);
    assert.deepEqual(withHostRemoved(withUnreadable, 'box'), [list[0], 'not an entry', withUnreadable[3]]);
    assert.equal(withHostChanged(list, 'nope', 'x'), undefined);
    assert.equal(withHostRemoved(list, 'nope'), undefined);
  });
});
