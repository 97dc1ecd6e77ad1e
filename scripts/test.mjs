// `npm test`: every tier in order: lint, format check, typecheck, unit (mocha), shim (python3 unittest), integration (real sshd), host (mocha inside code-server's extension host, in Chromium), then e2e (packaged .vsix in code-server + Chromium).
// Locally, a tier whose infrastructure cannot be installed (not root) is skipped with its reason;
// with CI=true nothing is skipped: missing infrastructure is a failure.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';

const CI = process.env.CI === 'true' || process.env.CI === '1';
const totals = { passed: 0, failed: 0, skipped: 0 };

/** Closing counts of mocha ("N passing / N failing / N pending") or unittest ("Ran N tests", "FAILED (failures=…)"). */
function counts(out) {
  const ran = /^Ran (\d+) tests?/m.exec(out);
  const number = (pattern) => Number(pattern.exec(out)?.[1] ?? 0);
  if (ran) {
    const failed = number(/failures=(\d+)/) + number(/errors=(\d+)/);
    const skipped = number(/skipped=(\d+)/);
    return { passed: Number(ran[1]) - failed - skipped, failed, skipped };
  }
  return {
    passed: number(/^\s*(\d+) passing/m),
    failed: number(/^\s*(\d+) failing/m),
    skipped: number(/^\s*(\d+) pending/m),
  };
}

/** Runs a command, streaming its output, and adds its test counts to the totals. */
function run(label, command, args) {
  console.log(`\n── ${label}: ${command} ${args.join(' ')}`);
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      process.stdout.write(chunk);
    });
    child.stderr.on('data', (chunk) => {
      out += chunk;
      process.stderr.write(chunk);
    });
    child.on('close', (code) => {
      const tally = counts(out);
      totals.passed += tally.passed;
      totals.failed += tally.failed;
      totals.skipped += tally.skipped;
      if (code !== 0 && tally.failed === 0) totals.failed += 1;
      resolve(code === 0);
    });
  });
}

function missingSshd() {
  if (fs.existsSync('/usr/sbin/sshd') || process.getuid?.() === 0) return null;
  return 'OpenSSH server is not installed and installing it needs root (sudo apt-get install openssh-server)';
}

function missingBrowserTierPrerequisites() {
  if (process.platform !== 'linux') return 'the browser tier runs on Linux only';
  const isRoot = process.getuid?.() === 0;
  const hasChromium = fs.existsSync('/usr/bin/chromium');
  if (!isRoot && !hasChromium)
    return 'Chromium is not installed and installing it needs root (sudo apt-get install chromium)';
  return null;
}

let ok = await run('lint', 'npx', ['eslint', '--max-warnings', '0', '.']);
ok = (await run('format', 'npx', ['prettier', '--check', '--log-level', 'warn', '.'])) && ok;
ok = (await run('typecheck', 'npm', ['run', '--silent', 'typecheck'])) && ok;
ok = (await run('build tests', 'node', ['esbuild.mjs', '--tests'])) && ok;
ok = (await run('unit', 'npx', ['mocha'])) && ok;
ok = (await run('shim', 'python3', ['-m', 'unittest', 'discover', '-s', 'shim/tests', '-t', 'shim'])) && ok;

/** A tier that needs infrastructure: skipped with its reason locally when it cannot be installed, never under CI. */
async function infraTier(label, missing, steps) {
  if (missing && !CI) {
    console.log(`\n── ${label} skipped: ${missing}`);
    totals.skipped += 1;
    return true;
  }
  let passed = true;
  for (const [name, command, args] of steps) passed = (await run(name, command, args)) && passed;
  return passed;
}

/** Debian's python3-torch for the shim's real-torch tier: installing it needs root unless it is there already. */
function missingRealTorch() {
  if (process.platform !== 'linux' || !fs.existsSync('/usr/bin/python3')) return "Debian's python3 is not here";
  if (process.getuid?.() === 0 || fs.existsSync('/usr/lib/python3/dist-packages/torch')) return null;
  return 'python3-torch is not installed and installing it needs root (sudo apt-get install python3-torch)';
}

ok =
  (await infraTier('torch', missingRealTorch(), [
    ['install python3-torch', 'bash', ['test/infra/torch.sh']],
    [
      'torch',
      '/usr/bin/python3',
      ['-m', 'unittest', 'discover', '-s', 'shim/tests', '-t', 'shim', '-p', 'realtorch_*.py'],
    ],
  ])) && ok;
ok =
  (await infraTier('integration', missingSshd(), [
    ['integration', 'npx', ['mocha', '--config', 'test/integration/.mocharc.json']],
  ])) && ok;
ok =
  (await infraTier('host', missingBrowserTierPrerequisites(), [
    ['build', 'node', ['esbuild.mjs']],
    ['host', 'node', ['test/host/run.mjs']],
  ])) && ok;
ok =
  (await infraTier('e2e', missingBrowserTierPrerequisites(), [
    ['package', 'npm', ['run', '--silent', 'package']],
    ['e2e', 'npx', ['mocha', '--config', 'test/e2e/.mocharc.json']],
  ])) && ok;

console.log(
  `\ntests: ${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}`,
);
process.exitCode = ok && totals.failed === 0 ? 0 : 1;
