// The host tier's entry point: VS Code's extension host requires this module (extensionTestsPath) and
// awaits run(). The same file serves code-server's server in CI (test/host/run.mjs) and
// @vscode/test-electron on a desktop (test/host/desktop.mjs).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { format } from 'node:util';
import Mocha from 'mocha';

export async function run(): Promise<void> {
  // Mocha's report goes to the extension host's console (a desktop's terminal) and, when the runner
  // names one, to a file: in a browser the console reaches the runner mixed with the workbench's logs.
  const report = process.env.GPUDEV_HOST_REPORT;
  const consoleLog = Mocha.reporters.Base.consoleLog;
  Mocha.reporters.Base.consoleLog = (...data: unknown[]) => {
    if (report) fs.appendFileSync(report, `${format(...data)}\n`);
    consoleLog(...data);
  };
  const mocha = new Mocha({ ui: 'bdd', reporter: 'spec', color: false, timeout: 20_000, slow: 3_000 });
  if (process.env.GPUDEV_HOST_GREP) mocha.grep(process.env.GPUDEV_HOST_GREP);
  const files = fs.readdirSync(__dirname).filter((file) => file.endsWith('.test.js'));
  for (const file of files.sort()) mocha.addFile(path.join(__dirname, file));
  const failures = await new Promise<number>((resolve) => mocha.run(resolve));
  if (failures > 0) throw new Error(`${failures} host test${failures === 1 ? '' : 's'} failed`);
}
