// P6: syncing a 2,000-file workspace to a login node (a real loopback sshd) after one file changed, by
// tar and by rsync (when this machine has it): what goes over the wire and how long it takes, against one
// SSH round trip, the transfer of those bytes alone, and `scp -r` of the tree.
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocalRunner } from '../src/hosts/runner';
import { syncWorkspace, type SyncReport, type SyncRequest } from '../src/reserve/sync/sync';
import { loginRunner } from '../test/integration/slurm';
import { startSshd } from '../test/integration/sshd';

const FILES = 2000;
const ROUNDS = 9;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Python-like sources of 0.3 to 4 KiB in 40 packages, in a git repository. */
function workspace(): { root: string; changed: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gpudev-bench-sync-'));
  for (let i = 0; i < FILES; i++) {
    const file = path.join(root, `pkg${i % 40}`, `module_${i}.py`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const lines = 4 + ((i * 37) % 50);
    fs.writeFileSync(
      file,
      Array.from(
        { length: lines },
        (_, l) => `def f_${i}_${l}(x):  # line ${l} of module ${i}\n    return x * ${l}\n`,
      ).join(''),
    );
  }
  execFileSync('git', ['init', '-q', root]);
  return { root, changed: 'pkg7/module_1007.py' };
}

/** Both syncs of the same workspace, each to its own folder: the first (full) one, then ROUNDS of one edited file. */
async function measure(
  transport: 'tar' | 'rsync' | 'auto',
  base: { root: string; login: SyncRequest['login']; local: SyncRequest['local'] },
  changed: string,
) {
  const request = {
    ...base,
    remoteDir: `${base.root}-remote-${transport}`,
    recordFile: `${base.root}.record-${transport}.json`,
    transport,
  };
  const firstStarted = performance.now();
  const first = await syncWorkspace(request);
  if ('message' in first) throw new Error(first.message);
  const firstMs = performance.now() - firstStarted;
  const times: number[] = [];
  let last: SyncReport | undefined;
  for (let round = 0; round <= ROUNDS; round++) {
    const file = path.join(base.root, changed);
    fs.writeFileSync(file, `${fs.readFileSync(file, 'utf8')}# edit ${transport} ${round}\n`);
    const started = performance.now();
    const report = await syncWorkspace(request);
    if ('message' in report) throw new Error(report.message);
    if (report.sent.join() !== changed) throw new Error(`${transport} sent ${report.sent.join(', ')}`);
    if (round > 0) times.push(performance.now() - started);
    last = report;
  }
  return {
    transport,
    first,
    firstMs,
    ms: median(times),
    last: last!,
    cleanup: [request.remoteDir, request.recordFile],
  };
}

export async function syncBenchmark(): Promise<void> {
  const sshd = startSshd();
  const login = loginRunner(sshd);
  const local = new LocalRunner();
  const { root, changed } = workspace();
  const cleanup = [root, `${root}-scp`];
  try {
    const rsyncHere = spawnSync('rsync', ['--version']).status === 0;
    const runs = [await measure('tar', { root, login, local }, changed)];
    if (rsyncHere) runs.push(await measure('rsync', { root, login, local }, changed));
    runs.push(await measure('auto', { root, login, local }, changed));
    cleanup.push(...runs.flatMap((run) => run.cleanup));
    const roundTrips: number[] = [];
    for (let i = 0; i <= ROUNDS; i++) {
      const started = performance.now();
      await login.run(['true']);
      if (i > 0) roundTrips.push(performance.now() - started);
    }
    const rtt = median(roundTrips);
    /** The time `bytes` take through `cat` on the login node, past one round trip. */
    const transferOf = async (bytes: number) => {
      const payload = 'x'.repeat(bytes);
      const transfers: number[] = [];
      for (let i = 0; i <= ROUNDS; i++) {
        const started = performance.now();
        await login.run(['sh', '-c', 'cat >/dev/null'], { stdin: payload });
        if (i > 0) transfers.push(performance.now() - started);
      }
      return Math.max(0, median(transfers) - rtt);
    };
    const scpTarget = `${root}-scp`;
    const scps: number[] = [];
    for (let i = 0; i < 3; i++) {
      fs.rmSync(scpTarget, { recursive: true, force: true });
      const started = performance.now();
      await new Promise<void>((resolve, reject) =>
        execFile(
          'scp',
          [
            '-O',
            '-q',
            '-r',
            '-F',
            'none',
            '-o',
            'BatchMode=yes',
            '-o',
            'StrictHostKeyChecking=no',
            '-o',
            'UserKnownHostsFile=/dev/null',
          ].concat([
            '-i',
            path.join(sshd.dir, 'client_key'),
            '-P',
            String(sshd.port),
            root,
            `${sshd.user}@127.0.0.1:${scpTarget}`,
          ]),
          (error) => (error ? reject(new Error(error.message)) : resolve()),
        ),
      );
      scps.push(performance.now() - started);
    }
    const scp = median(scps);
    const treeBytes = runs[0]!.first.fileBytes;
    console.log(
      `P6 sync a ${FILES}-file workspace (${(treeBytes / 1024).toFixed(0)} KiB) with one file changed (real loopback sshd; medians of ${ROUNDS})`,
    );
    console.log(
      `  naive: scp -r of the tree                     ${scp.toFixed(1).padStart(8)} ms  ${treeBytes} bytes of files`,
    );
    console.log(`  one  : an SSH round trip (exec true) ${rtt.toFixed(1).padStart(8)} ms`);
    for (const run of runs) {
      const { first, firstMs, ms, last } = run;
      const transfer = await transferOf(last.bytes);
      const name = (run.transport === 'auto' ? 'auto' : last.transport).padEnd(5);
      console.log(
        `  ${name}: first (full) sync                       ${firstMs.toFixed(1).padStart(8)} ms  ${first.bytes} bytes`,
      );
      console.log(
        `  ${name}: the second sync, ${last.sent.length} file of ${last.fileBytes} bytes    ${ms.toFixed(1).padStart(8)} ms  ${last.bytes} bytes (${last.bytes} through cat: ${transfer.toFixed(1)} ms past a round trip)`,
      );
      console.log(
        `  ${name}: ${(last.bytes / last.fileBytes).toFixed(2)}x the file's bytes (goal ≤ 2x); ${(ms / (rtt + transfer)).toFixed(2)}x a round trip plus the transfer (goal ≤ 1.5x); ${(scp / ms).toFixed(1)}x faster than scp -r`,
      );
      if (run.transport === 'auto')
        console.log(
          `  auto : the full sync went by ${first.transport}, the second by ${last.transport} (what users get)`,
        );
    }
    if (!rsyncHere) console.log('  rsync: not measured, this machine has no rsync (test/infra/rsync.sh installs it)');
    console.log('');
  } finally {
    login.close();
    for (const file of cleanup) fs.rmSync(file, { recursive: true, force: true });
  }
}
