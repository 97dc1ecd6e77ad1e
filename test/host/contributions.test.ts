// package.json's promises checked against the running extension: its commands as VS Code registered
// them, its settings as VS Code's configuration registry holds them, its when clauses against the
// context keys and tree items the source sets.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { contributions, repoRoot, testApi } from './host';
import { scanFolder, scanSources, type SourceFacts } from './sourceScan';
import { parseWhen } from './whenClause';

/** Context keys VS Code itself sets, that our when clauses use. */
const VSCODE_CONTEXT_KEYS = new Set(['view', 'viewItem', 'editorLangId', 'resourceScheme', 'isWorkspaceTrusted']);

describe('contributions of package.json, in the running extension host', function () {
  let facts: SourceFacts;
  before(async function () {
    this.timeout(30_000);
    await testApi();
    facts = scanFolder(repoRoot(), 'src');
  });

  const declaredCommands = () => contributions().commands.map((c) => c.command);
  const viewIds = () => Object.values(contributions().views).flatMap((views) => views.map((v) => v.id));
  const whenClauses = () => [
    ...Object.values(contributions().menus).flatMap((items) => items.flatMap((item) => (item.when ? [item.when] : []))),
    ...contributions().viewsWelcome.flatMap((w) => (w.when ? [w.when] : [])),
  ];

  it('every command of contributes.commands is registered after activation', async () => {
    const registered = new Set(await vscode.commands.getCommands(true));
    assert.deepEqual(
      declaredCommands().filter((id) => !registered.has(id)),
      [],
      'declared but not registered',
    );
  });

  it('every registered gpuDev.* command is declared (beside the ones VS Code makes for our views)', async () => {
    const declared = new Set(declaredCommands());
    // VS Code registers `<view id>.focus`, `.resetViewLocation`, … for each view, and opens the container by its own id.
    const ofViews = new RegExp(
      `^(${viewIds()
        .map((id) => id.replace(/\./g, '\\.'))
        .join('|')})\\.\\w+$`,
    );
    const ours = (await vscode.commands.getCommands(true)).filter((id) => id.startsWith('gpuDev.'));
    assert.deepEqual(
      ours.filter((id) => !declared.has(id) && !ofViews.test(id)),
      [],
      'registered but not declared',
    );
  });

  it('the walkthrough: each step a command button VS Code runs, a completion event that can happen, its page', async () => {
    const registered = new Set(await vscode.commands.getCommands(true));
    const steps = contributions().walkthroughs.flatMap((walkthrough) => walkthrough.steps);
    assert.deepEqual(
      steps.map((step) => step.id),
      ['gpus', 'addHost', 'plan', 'apply', 'reserve', 'attach'],
    );
    for (const step of steps) {
      const buttons = [...step.description.matchAll(/\]\(command:([\w.]+)\)/g)].map((m) => m[1]!);
      assert.ok(buttons.length, `${step.id} has no command button`);
      for (const id of buttons) assert.ok(registered.has(id), `${step.id}: ${id} is not a command`);
      for (const event of step.completionEvents) {
        const [kind, id] = event.split(':');
        if (kind === 'onCommand') assert.ok(declaredCommands().includes(id!), `${step.id}: ${event}`);
        else assert.ok(kind === 'onView' && viewIds().includes(id!), `${step.id}: ${event}`);
      }
      assert.ok(fs.existsSync(path.join(repoRoot(), step.media.markdown)), step.media.markdown);
    }
  });

  it('every command a menu shows is declared', () => {
    const declared = new Set(declaredCommands());
    const inMenus = Object.values(contributions().menus).flatMap((items) => items.map((item) => item.command));
    assert.deepEqual(
      [...new Set(inMenus)].filter((id) => !declared.has(id)),
      [],
    );
  });

  it("every context key of a when clause is VS Code's own or set by the extension, and every key it sets is used", () => {
    const used = new Set(whenClauses().flatMap((clause) => parseWhen(clause).map((term) => term.key)));
    assert.deepEqual(
      [...used].filter((key) => !VSCODE_CONTEXT_KEYS.has(key) && !facts.contextKeys.has(key)),
      [],
      'used, never set',
    );
    assert.deepEqual(
      [...facts.contextKeys].filter((key) => !used.has(key)),
      [],
      'set, never used',
    );
  });

  it('every view and viewItem a when clause names is one of our views and a contextValue our trees give', () => {
    const views = new Set(viewIds());
    const { exact, prefixes } = facts.contextValues;
    const given = (test: (value: string) => boolean) =>
      [...exact].some(test) || [...prefixes].some((prefix) => test(`${prefix}x`) || test(prefix));
    const wrong = whenClauses().flatMap((clause) =>
      parseWhen(clause).flatMap((term) => {
        if (term.key === 'view' && term.op === '==')
          return views.has(term.value!) ? [] : [`${clause}: no view ${term.value}`];
        if (term.key !== 'viewItem') return [];
        const ok =
          term.op === '=~'
            ? given((v) => term.regex!.test(v))
            : given((v) => v === term.value || [...prefixes].some((p) => term.value!.startsWith(p)));
        return ok ? [] : [`${clause}: no tree item has such a contextValue`];
      }),
    );
    assert.deepEqual(wrong, []);
  });

  it('every gpuDev setting the code reads is declared in contributes.configuration and known to VS Code', () => {
    assert.deepEqual(
      facts.unresolved,
      [],
      "reads whose key the scan cannot tell: pass a literal key, or a reader function's parameter",
    );
    const declared = new Set(Object.keys(contributions().configuration.properties));
    const undeclared = [...facts.settings]
      .filter(([key]) => !declared.has(`gpuDev.${key}`))
      .map(([key, where]) => `gpuDev.${key} (${where.join(', ')})`);
    assert.deepEqual(undeclared, [], 'read but not declared');
    const config = vscode.workspace.getConfiguration('gpuDev');
    assert.deepEqual(
      [...facts.settings.keys()].filter((key) => config.inspect(key)?.defaultValue === undefined),
      [],
      "without a default in VS Code's registry",
    );
  });

  it('every declared setting is read by the code', () => {
    const read = new Set([...facts.settings.keys()].map((key) => `gpuDev.${key}`));
    assert.deepEqual(
      Object.keys(contributions().configuration.properties).filter((key) => !read.has(key)),
      [],
    );
  });

  it('the source scan sees each form of read, context key and contextValue', () => {
    const scanned = scanSources([
      {
        file: 'sample.ts',
        text: `
          const a = vscode.workspace.getConfiguration('gpuDev').get<number>('direct', 1);
          const config = vscode.workspace.getConfiguration('gpuDev');
          config.inspect('viaVariable'); config.update('updated', 1);
          const percent = (key: string) => config.get<number>(key);
          percent('viaReader');
          function outer(name: string) { return percent(name); }
          outer('viaReaderOfReader');
          vscode.workspace.getConfiguration('gpuDev.monitor').get('sectioned');
          vscode.workspace.getConfiguration('other').get('notOurs');
          event.affectsConfiguration('gpuDev.changed');
          config.get(KEYS[0]);
          void vscode.commands.executeCommand('setContext', 'gpuDev.someKey', true);
          item.contextValue = busy ? 'busy' : 'idle';
          item.contextValue = \`job.\${state}\`;`,
      },
      {
        file: 'other.ts',
        text: `
          const percent = (ratio: number) => \`\${Math.round(ratio * 100)}%\`;
          export const share = (part: number) => percent(part / 2);
          function scoped() { const outer = (n: number) => n; return outer(1 + 1); }`,
      },
    ]);
    assert.deepEqual([...scanned.settings.keys()].sort(), [
      'changed',
      'direct',
      'monitor.sectioned',
      'updated',
      'viaReader',
      'viaReaderOfReader',
      'viaVariable',
    ]);
    assert.equal(scanned.unresolved.length, 1);
    assert.match(scanned.unresolved[0]!, /sample\.ts:12: config\.get\(KEYS\[0\]\)/);
    assert.deepEqual([...scanned.contextKeys], ['gpuDev.someKey']);
    assert.deepEqual([...scanned.contextValues.exact], ['busy', 'idle']);
    assert.deepEqual([...scanned.contextValues.prefixes], ['job.']);
  });
});
