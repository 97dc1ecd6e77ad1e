import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseHostEntries } from '../../src/hosts/sshHosts';
import { parseClusterEntries } from '../../src/reserve/clusters';
import { repoRoot } from './fixtures';

interface Snippet {
  label: string;
  body: unknown;
}
interface SettingSchema {
  defaultSnippets?: Snippet[];
  items?: { defaultSnippets?: Snippet[] };
}
const settings = (
  JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
    contributes: { configuration: { properties: Record<string, SettingSchema> } };
  }
).contributes.configuration.properties;

/** A snippet body as VS Code inserts it when every placeholder keeps its default (`^` marks a raw JSON value). */
function inserted(body: unknown): unknown {
  if (Array.isArray(body)) return body.map(inserted);
  if (body && typeof body === 'object')
    return Object.fromEntries(Object.entries(body).map(([key, value]) => [key, inserted(value)]));
  if (typeof body !== 'string') return body;
  const text = body
    .replace(/\$\{\d+:([^}]*)\}/g, '$1')
    .replace(/\$\{\d+\|([^,|]*)[^}]*\}/g, '$1')
    .replace(/\\\$/g, '$');
  assert.doesNotMatch(text, /\$\{|\$\d/, `a placeholder left in ${body}`);
  return text.startsWith('^') ? JSON.parse(text.slice(1)) : text;
}

describe('"Edit in settings.json" examples (defaultSnippets) of gpuDev.hosts and gpuDev.clusters', () => {
  const cases = [
    ['gpuDev.hosts', (value: unknown) => parseHostEntries(value)],
    ['gpuDev.clusters', (value: unknown) => parseClusterEntries(value)],
  ] as const;
  for (const [key, parse] of cases) {
    it(`${key}: every example entry is one the extension accepts, for the whole list and for one item`, () => {
      const schema = settings[key]!;
      const whole = schema.defaultSnippets ?? [];
      const items = schema.items?.defaultSnippets ?? [];
      assert.ok(whole.length >= 1 && items.length >= 1, 'an example for the list and for an entry inside it');
      for (const snippet of [...whole.map((s) => s.body), ...items.map((s) => [s.body])]) {
        const value = inserted(snippet);
        const parsed = parse(value);
        assert.deepEqual(parsed.problems, [], JSON.stringify(value));
        assert.equal(
          (('hosts' in parsed ? parsed.hosts : parsed.clusters) as unknown[]).length,
          (value as unknown[]).length,
        );
      }
    });
  }

  it('the placeholders expand as VS Code does', () => {
    assert.deepEqual(inserted({ a: '${1:lab}', b: '^${2:true}', c: '${3|x,y|}', d: '/s/\\$USER' }), {
      a: 'lab',
      b: true,
      c: 'x',
      d: '/s/$USER',
    });
  });
});
