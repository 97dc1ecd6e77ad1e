import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MACHINE_SETTINGS, machineSettingsIn, parseJsonc, setsKey } from '../../src/core/machineSettings';
import { repoRoot } from './fixtures';

describe('settings a workspace must not set', () => {
  it('package.json makes each machine-scoped and restricted in untrusted workspaces', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
      capabilities: { untrustedWorkspaces: { restrictedConfigurations?: string[] } };
      contributes: { configuration: { properties: Record<string, { scope?: string }> } };
    };
    const keys = MACHINE_SETTINGS.map((key) => `gpuDev.${key}`);
    for (const key of keys) assert.equal(manifest.contributes.configuration.properties[key]?.scope, 'machine', key);
    assert.deepEqual(
      [...(manifest.capabilities.untrustedWorkspaces.restrictedConfigurations ?? [])].sort(),
      [...keys].sort(),
    );
  });

  it('reads settings.json as VS Code writes it: comments, trailing commas, slashes inside strings', () => {
    const text =
      '{\n  // sudo for everyone\n  "gpuDev.cosplay.sudo": true, /* block */\n  "gpuDev.cosplay.image": "registry//x/*y*/:1",\n  "a\\"//b": 1,\n}\n';
    assert.deepEqual(parseJsonc(text), {
      'gpuDev.cosplay.sudo': true,
      'gpuDev.cosplay.image': 'registry//x/*y*/:1',
      'a"//b': 1,
    });
    assert.equal(parseJsonc('{ not json'), undefined);
    assert.equal(parseJsonc(''), undefined);
  });

  it('finds a key set flat, nested, or half nested', () => {
    assert.ok(setsKey({ 'gpuDev.hosts': [] }, 'gpuDev.hosts'));
    assert.ok(setsKey({ gpuDev: { hosts: [] } }, 'gpuDev.hosts'));
    assert.ok(setsKey({ gpuDev: { 'cosplay.sudo': true } }, 'gpuDev.cosplay.sudo'));
    assert.ok(setsKey({ 'gpuDev.cosplay': { sudo: false } }, 'gpuDev.cosplay.sudo'));
    assert.ok(!setsKey({ 'gpuDev.cosplay.sudoer': true, gpuDev: { cosplay: 'x' } }, 'gpuDev.cosplay.sudo'));
    assert.ok(!setsKey([], 'gpuDev.hosts'));
    assert.ok(!setsKey({ 'gpuDev.hosts': undefined }, 'gpuDev.hosts'));
  });

  it('names the machine settings a folder or a .code-workspace file sets, and nothing else', () => {
    const folder =
      '{ "gpuDev.cosplay.sudo": true, "gpuDev.hosts": [{ "name": "evil", "ssh": "x" }], "gpuDev.monitor.intervalMs": 500 }';
    assert.deepEqual(machineSettingsIn(folder, 'folder'), ['cosplay.sudo', 'hosts']);
    const workspace =
      '{ "folders": [{ "path": "." }], "settings": { "gpuDev": { "clusters": [], "ssh.configFile": "/tmp/x" } } }';
    assert.deepEqual(machineSettingsIn(workspace, 'workspaceFile'), ['ssh.configFile', 'clusters']);
    assert.deepEqual(
      machineSettingsIn(folder, 'workspaceFile'),
      [],
      'a workspace file holds its settings under "settings"',
    );
    assert.deepEqual(machineSettingsIn('garbage', 'folder'), []);
  });
});
