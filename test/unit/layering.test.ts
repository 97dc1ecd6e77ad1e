import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from './fixtures';

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(full) : /\.(ts|js|mjs)$/.test(entry.name) ? [full] : [];
  });
}

const IMPORTS_VSCODE = /(?:from\s+|import\s*\(\s*|require\s*\(\s*|import\s+)['"]vscode['"]/;

describe('layering', () => {
  it('only src/ui/ and src/extension.ts import vscode', () => {
    const src = path.join(repoRoot, 'src');
    const offenders = sourceFiles(src)
      .map((file) => path.relative(repoRoot, file))
      .filter((file) => !file.startsWith(`src${path.sep}ui${path.sep}`) && file !== path.join('src', 'extension.ts'))
      .filter((file) => IMPORTS_VSCODE.test(fs.readFileSync(path.join(repoRoot, file), 'utf8')));
    assert.deepEqual(offenders, []);
  });

  it('the check recognises every import form', () => {
    for (const line of [
      "import * as vscode from 'vscode';",
      'import { window } from "vscode";',
      "const v = require('vscode');",
      "await import('vscode')",
      "import 'vscode';",
    ]) {
      assert.match(line, IMPORTS_VSCODE, line);
    }
    assert.doesNotMatch("import { x } from './vscode-helpers';", IMPORTS_VSCODE);
  });
});
