// Workspace sync with rsync, when this machine and the login node both have it: the changed files (by
// the same record as the tar sync, so the two can take turns) go through rsync's delta transfer, in one
// exec on the connection already open (see rsyncBridge.ts), into the folder whose token matches.
import * as path from 'node:path';
import type { GpuDevError } from '../../core/errors';
import { LocalRunner, type Runner } from '../../hosts/runner';
import { SshRunner } from '../../hosts/sshRunner';
import { workspaceFiles } from './fileList';
import { diffManifest, loadRecord, newToken, saveRecord, statFiles, type Manifest } from './manifest';
import { localRawExec, RSH, runRsyncOver, type OpenRawExec, type RsyncRun } from './rsyncBridge';
import { checkRemoteDir } from './remoteDir';
import type { SyncReport, SyncRequest } from './sync';

/** Which rsync programs to use (here, and on the login node); tests name missing ones. */
export interface RsyncPrograms {
  readonly local?: string;
  readonly remote?: string;
}

/** rsync cannot be used: why (the tar sync goes instead). */
export interface RsyncUnavailable {
  readonly unavailable: string;
  /** Which side lacks it (the login node's answer is remembered), or the connection cannot carry it. */
  readonly where: 'local' | 'remote' | 'connection';
}

const MARK = '.gpudev-sync';
const STALE = 75;
const NO_RSYNC = 77;
const PROGRAM = /^[\w./-]+$/;

/** The login node's connection as raw byte streams, for the runners that have one. */
export function rawExecOf(login: Runner): OpenRawExec | undefined {
  if (login instanceof LocalRunner) return localRawExec;
  if (!(login instanceof SshRunner)) return undefined;
  return async (argv) => {
    const channel = await login.exec(argv);
    if ('exitCode' in channel) return channel.failure ?? { message: `${login.label} did not run rsync` };
    const exit = new Promise<number | null>((resolve) => channel.on('close', (code: number | null) => resolve(code)));
    return { stdin: channel, stdout: channel, stderr: channel.stderr, exit };
  };
}

const localRsync = new Map<string, Promise<boolean>>();

/** Whether this machine has the rsync program (asked once per process). */
export function hasLocalRsync(program: string, local: Runner): Promise<boolean> {
  let known = localRsync.get(program);
  if (!known) {
    known = local.run([program, '--version']).then((result) => result.exitCode === 0 && /rsync/i.test(result.stdout));
    localRsync.set(program, known);
  }
  return known;
}

/**
 * The one line of sh (any login shell passes it through) that runs rsync's server on the login node: rsync
 * there, the folder the record describes (its token), then the server; the new token once it succeeded.
 */
export function rsyncWrapper(remoteDir: string, program: string, token: string, expect?: string): string {
  if (
    checkRemoteDir(remoteDir) ||
    !PROGRAM.test(program) ||
    ![token, expect ?? token].every((t) => /^[0-9a-f]+$/.test(t))
  )
    throw new Error('not a remote folder, rsync program or token');
  const check = expect
    ? `cd "$d" 2>/dev/null && [ "$(cat ${MARK} 2>/dev/null)" = ${expect} ] || exit ${STALE}`
    : 'mkdir -p "$d" && cd "$d" || exit 1';
  return [
    `d="${remoteDir}"`,
    `command -v ${program} >/dev/null 2>&1 || exit ${NO_RSYNC}`,
    check,
    `rm -f ${MARK}`,
    '"$@"',
    `s=$?; [ $s = 0 ] && echo ${token} > ${MARK}; exit $s`,
  ].join('; ');
}

/** Files rsync sent and removed, from its `--out-format='%i %n'` lines. */
export function parseItemized(stdout: string): { sent: string[]; deleted: string[] } {
  const sent: string[] = [];
  const deleted: string[] = [];
  for (const line of stdout.split('\n')) {
    const file = /^<f\S{9,10} (.+)$/.exec(line);
    if (file) sent.push(file[1]!);
    const gone = /^\*deleting +(.+)$/.exec(line);
    if (gone && !gone[1]!.endsWith('/')) deleted.push(gone[1]!);
  }
  return { sent: sent.sort(), deleted: deleted.sort() };
}

/**
 * One rsync run through the connection. rsync starts (and the login node's side with it) at once; the
 * list of files it sends (`files`, relative; those missing here are removed there) follows on its stdin
 * once it is known, so that the exec's round trip overlaps listing the workspace.
 */
async function rsyncPass(
  request: SyncRequest,
  open: OpenRawExec,
  programs: Required<RsyncPrograms>,
  files: Promise<readonly string[] | undefined>,
  wrapper: string,
): Promise<RsyncRun> {
  const argv = [
    '--times',
    // The list holds only what the manifest says changed: rsync's own size-and-second check would skip
    // a file rewritten within the same second at the same size.
    '--ignore-times',
    '--executability',
    '--compress',
    '--from0',
    '--files-from=-',
    '--delete-missing-args',
    '--out-format=%i %n',
    `--rsh=${RSH}`,
    `--rsync-path=${programs.remote}`,
    '--',
    `${path.resolve(request.root)}/`,
    'gpudev:.',
  ];
  return runRsyncOver(
    open,
    programs.local,
    argv,
    (remote) =>
      remote[0] === programs.remote && remote[1] === '--server'
        ? ['sh', '-c', wrapper, 'gpudev-rsync', ...remote]
        : undefined,
    files.then((list) => list && Buffer.from(list.map((f) => `${f}\0`).join(''))),
    120_000,
  );
}

/** Sends what changed with rsync; `unavailable` when either side has none (or the connection cannot carry it). */
export async function rsyncWorkspace(
  request: SyncRequest,
  programs: RsyncPrograms = {},
): Promise<SyncReport | GpuDevError | RsyncUnavailable> {
  const chosen = { local: programs.local ?? 'rsync', remote: programs.remote ?? 'rsync' };
  if (!PROGRAM.test(chosen.local) || !PROGRAM.test(chosen.remote)) return { message: 'not an rsync program name' };
  // The remote shell is sh with an inherited socket: not for Windows' rsync ports.
  if (process.platform === 'win32') return { unavailable: 'rsync is not used on Windows', where: 'local' };
  const open = rawExecOf(request.login);
  if (!open) return { unavailable: `${request.login.label} carries no raw byte stream`, where: 'connection' };
  if (!(await hasLocalRsync(chosen.local, request.local)))
    return { unavailable: 'this machine has no rsync', where: 'local' };
  const record = await loadRecord(request.recordFile);
  const token = newToken();
  const listed = (async () => {
    const list = await workspaceFiles(request.root, request.local, request);
    return 'message' in list ? list : { list, manifest: await statFiles(request.root, list.files) };
  })();
  let execs = 0;
  const send = (previous: Manifest | undefined) => {
    execs++;
    const wrapper = rsyncWrapper(request.remoteDir, chosen.remote, token, previous && record?.token);
    const files = listed.then((ready) => {
      if ('message' in ready) return undefined;
      const { changed, deleted } = diffManifest(previous ?? {}, ready.manifest);
      return [...changed, ...(previous ? deleted : [])];
    });
    return rsyncPass(request, open, chosen, files, wrapper);
  };
  let pass = await send(record?.files);
  const ready = await listed;
  if ('message' in ready) return ready;
  const { list, manifest } = ready;
  if (pass.remote?.exitCode === NO_RSYNC)
    return { unavailable: `${request.login.label} has no ${chosen.remote}`, where: 'remote' };
  const full = !record || pass.remote?.exitCode === STALE;
  if (record && pass.remote?.exitCode === STALE) pass = await send(undefined);
  if (pass.remote?.exitCode !== 0 || pass.exitCode !== 0) {
    const why = (pass.remote?.stderr || pass.stderr).trim().split('\n').slice(-2).join(' ') || 'no output';
    return {
      message: `sync to ${request.login.label}:${request.remoteDir} with rsync failed (exit ${pass.remote?.exitCode ?? pass.exitCode ?? 'killed'}): ${why}`,
      hint: 'is there room in that folder?',
    };
  }
  await saveRecord(request.recordFile, { token, files: manifest });
  const { sent, deleted } = parseItemized(pass.stdout);
  return {
    remoteDir: request.remoteDir,
    source: list.source,
    files: list.files.length,
    sent,
    deleted,
    bytes: pass.bytesSent,
    fileBytes: sent.reduce((sum, f) => sum + (manifest[f]?.size ?? 0), 0),
    full,
    execs,
    transport: 'rsync',
  };
}
