import * as assert from 'node:assert/strict';
import { parseHostEntries } from '../../src/hosts/sshHosts';

describe('gpuDev.hosts', () => {
  it('keeps valid entries and names every invalid one', () => {
    const { hosts, problems } = parseHostEntries([
      { name: 'lab', ssh: 'lab-alias' },
      { name: 'lab', ssh: 'other' },
      { name: 'This machine', ssh: 'x' },
      { ssh: 'no-name' },
      { name: 'extra', ssh: 'h', port: 22 },
      'just a string',
      { name: 'gpu', ssh: 'alice@10.0.0.5:2222', sudo: true },
    ]);
    assert.deepEqual(hosts, [
      { name: 'lab', ssh: 'lab-alias' },
      { name: 'gpu', ssh: 'alice@10.0.0.5:2222', sudo: true },
    ]);
    assert.equal(problems.length, 5);
    assert.match(problems[0]!, /the name "lab" is used twice/);
    assert.match(problems[1]!, /names the local machine/);
  });

  it('a setting that is not a list', () => {
    assert.deepEqual(parseHostEntries(undefined), { hosts: [], problems: [] });
    assert.deepEqual(parseHostEntries({ name: 'x' }).problems, ['gpuDev.hosts must be a list of { name, ssh }']);
  });
});
