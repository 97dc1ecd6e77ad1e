// Temporary folders for tests, removed once the run ends (a root hook of the test file that made them;
// outside mocha, as when the benchmarks use a test helper, they are left to their caller).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const made: string[] = [];
if (typeof after === 'function')
  after(() => made.splice(0).forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}
