// `npm run test:desktop`: the host tier's suite in a desktop VS Code, through @vscode/test-electron's runTests.
// It downloads VS Code into .vscode-test/ on first use, or runs the install VSCODE_EXECUTABLE names (the
// `code` binary's Electron executable, e.g. /usr/share/code/code or
// "/Applications/Visual Studio Code.app/Contents/MacOS/Electron"); VSCODE_VERSION picks a version to download.
// Linux and macOS (the fake nvidia-smi is a shell script). Not run in CI, which cannot download VS Code:
// there the same suite runs in code-server's server (test/host/run.mjs).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../../scripts/codeServer.mjs';
import { hostTestEnv, prepareHostTestFolders } from './setup.mjs';

const testElectron = await import('@vscode/test-electron').catch(() => undefined);
if (!testElectron) {
  console.error('@vscode/test-electron is not installed: run `npm install` first');
  process.exit(2);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gpudev-desktop-'));
const dirs = prepareHostTestFolders(tmp);
let code = 1;
try {
  code = await testElectron.runTests({
    vscodeExecutablePath: process.env.VSCODE_EXECUTABLE || undefined,
    version: process.env.VSCODE_VERSION || undefined,
    extensionDevelopmentPath: repoRoot,
    extensionTestsPath: path.join(repoRoot, 'out/test/host/index.js'),
    launchArgs: [
      dirs.workspace,
      '--disable-extensions',
      '--disable-workspace-trust',
      '--skip-welcome',
      '--skip-release-notes',
      '--user-data-dir',
      dirs.userData,
      '--extensions-dir',
      dirs.extensions,
    ],
    extensionTestsEnv: { ...hostTestEnv(dirs), GPUDEV_FAKE_SMI_SCENARIO: undefined },
  });
} catch (error) {
  // runTests rejects when VS Code exits non-zero (a failing test) or cannot be downloaded or started.
  console.error(`desktop host tier: ${error instanceof Error ? error.message : String(error)}`);
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
process.exit(code);
