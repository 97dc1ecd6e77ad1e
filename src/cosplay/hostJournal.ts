// The journal's files on the GPU host, through its Runner: one JSON file per GPU (by UUID) in a folder
// only the session's user (or root, with sudo) can write, written atomically, and a lock per GPU
// (`flock`, held by a program whose input we keep open: it ends, and the lock with it, if we die).
import * as os from 'node:os';
import type { GpuDevError } from '../core/errors';
import type { Runner } from '../hosts/runner';
import { GPU_UUID } from './changes';
import { runHostCommand } from './hostCommands';
import { emptyJournal, parseJournal, type GpuJournal } from './journal';

/** Where sessions applied with sudo keep their journal; without sudo it is the user's own state folder. */
export const ROOT_JOURNAL_DIR = '/var/lib/gpudev';
export type JournalKind = 'root' | 'user';

/** How long a second apply or stop waits for the GPU's lock before giving up, in seconds. */
export const LOCK_WAIT_S = 600;
/** Waiting longer than this is said, with who holds the lock. */
const SAY_WAITING_AFTER_MS = 700;

export interface GpuLock {
  release(): void;
}

export class HostJournal {
  private constructor(
    readonly runner: Runner,
    readonly dir: string,
    readonly sudo: boolean,
  ) {}

  get kind(): JournalKind {
    return this.sudo ? 'root' : 'user';
  }

  /** MPS daemons' folders: `<dir>/mps/<session>`. */
  get mpsRoot(): string {
    return `${this.dir}/mps`;
  }

  /**
   * The host's journal folder, made 0700 when missing: `/var/lib/gpudev` with sudo, else
   * `~/.local/state/gpudev`. A folder that is a symlink, or is not ours alone, is refused.
   */
  static async open(runner: Runner, sudo: boolean): Promise<HostJournal | GpuDevError> {
    let dir = ROOT_JOURNAL_DIR;
    if (!sudo) {
      const home = await runner.run(['printenv', 'HOME']);
      const path = home.stdout.trim();
      if (home.failure) return home.failure;
      if (home.exitCode !== 0 || !path.startsWith('/'))
        return {
          message: `${runner.label} has no home folder for the cosplay journal`,
          hint: 'set HOME there, or turn sudo on for this host',
        };
      dir = `${path.replace(/\/+$/, '')}/.local/state/gpudev`;
    }
    const journal = new HostJournal(runner, dir, sudo);
    const made = await journal.host(['mkdir', '-p', '-m', '0700', '--', dir]);
    if (typeof made !== 'string') return made;
    const [stat, uid] = await Promise.all([
      journal.host(['stat', '-c', '%F|%u|%a', '--', dir]),
      journal.host(['id', '-u']),
    ]);
    if (typeof stat !== 'string') return stat;
    if (typeof uid !== 'string') return uid;
    const [type, owner, mode] = stat.trim().split('|');
    const refuse = (why: string): GpuDevError => ({
      message: `the cosplay journal folder ${dir} on ${runner.label} ${why}: refusing to use it`,
      hint: `someone else could change what gets undone there; remove it (after checking its contents) and try again`,
    });
    if (type !== 'directory') return refuse(`is a ${type ?? 'strange file'}, not a folder`);
    if (owner !== uid.trim()) return refuse(`belongs to user id ${owner}, not ${uid.trim()}`);
    if ((Number.parseInt(mode ?? '777', 8) & 0o022) !== 0) return refuse(`can be written by others (mode ${mode})`);
    const mps = await journal.host(['mkdir', '-p', '-m', '0700', '--', journal.mpsRoot]);
    return typeof mps === 'string' ? journal : mps;
  }

  private file(gpuUuid: string, suffix: string): string {
    if (!GPU_UUID.test(gpuUuid)) throw new Error(`not a GPU UUID: ${gpuUuid}`);
    return `${this.dir}/${gpuUuid}.${suffix}`;
  }

  /** A host command (with sudo where the journal is root's): its stdout, or what went wrong. */
  private async host(args: readonly string[], stdin?: string): Promise<string | GpuDevError> {
    const done = await runHostCommand(this.runner, { argv: args, ...(stdin !== undefined && { stdin }) }, this.sudo);
    return done.ok ? done.stdout : done.error;
  }

  /** The GPU's journal; an empty one when it has none yet. */
  async read(gpuUuid: string): Promise<GpuJournal | GpuDevError> {
    const file = this.file(gpuUuid, 'json');
    const result = await this.runner.run([...(this.sudo ? ['sudo', '-n'] : []), 'cat', '--', file]);
    if (result.failure) return result.failure;
    if (result.exitCode !== 0) {
      if (/No such file/i.test(result.stderr)) return emptyJournal(gpuUuid);
      return {
        message: `cannot read the cosplay journal ${file} on ${this.runner.label}: ${result.stderr.trim() || `exit ${result.exitCode}`}`,
      };
    }
    const journal = parseJournal(result.stdout, gpuUuid);
    if (typeof journal === 'string')
      return {
        message: `the cosplay journal ${file} on ${this.runner.label} cannot be used: ${journal}`,
        hint: 'nothing in it is undone; check the GPU by hand, then move the file away',
      };
    return journal;
  }

  /** Writes the GPU's journal atomically (a temporary file renamed over it); an empty one is removed. */
  async write(journal: GpuJournal): Promise<GpuDevError | undefined> {
    const file = this.file(journal.gpuUuid, 'json');
    const done =
      journal.sessions.length || journal.gpuWide.length
        ? await this.host(
            ['sh', '-c', 'cat >"$1.tmp" && mv -f -- "$1.tmp" "$1"', 'gpudev-journal', file],
            `${JSON.stringify(journal, null, 1)}\n`,
          )
        : await this.host(['rm', '-f', '--', file]);
    return typeof done === 'string' ? undefined : done;
  }

  /** Every GPU journal in the folder, and sentences for the files that cannot be used. */
  async list(): Promise<{ journals: GpuJournal[]; problems: string[] }> {
    const listing = await this.host(['ls', '-1', '--', this.dir]);
    if (typeof listing !== 'string') return { journals: [], problems: [listing.message] };
    const uuids = listing
      .split('\n')
      .map((l) => l.trim())
      .filter((name) => name.endsWith('.json') && GPU_UUID.test(name.slice(0, -5)))
      .map((name) => name.slice(0, -5));
    const read = await Promise.all(uuids.map((uuid) => this.read(uuid)));
    return {
      journals: read.filter((j): j is GpuJournal => 'gpuWide' in j && (j.sessions.length > 0 || j.gpuWide.length > 0)),
      problems: read.filter((j): j is GpuDevError => 'message' in j).map((e) => e.message),
    };
  }

  /**
   * Takes the GPU's lock on the host, waiting behind windows, CLIs and machines that hold it; after a
   * moment of waiting, `onWait` hears who holds it and since when.
   */
  async lock(gpuUuid: string, holder: string, onWait?: (heldBy: string) => void): Promise<GpuLock | GpuDevError> {
    const lockFile = this.file(gpuUuid, 'lock');
    const holderFile = this.file(gpuUuid, 'holder');
    const hold = this.runner.hold?.bind(this.runner);
    if (!hold) return { message: `${this.runner.label} cannot hold a lock (its runner keeps no program open)` };
    let output = '';
    const acquired = new Promise<{ program: ReturnType<typeof hold> } | GpuDevError>((resolve) => {
      // cat echoes our line only once flock holds the lock; when our input ends, cat and the lock go.
      const program = hold(
        [...(this.sudo ? ['sudo', '-n'] : []), 'flock', '-x', '-w', String(LOCK_WAIT_S), lockFile, 'cat'],
        {
          onData: (text) => {
            output += text;
            if (output.includes('locked\n')) resolve({ program });
          },
          onEnd: (end) =>
            resolve(
              end.failure ?? {
                message: `could not lock GPU ${gpuUuid} on ${this.runner.label}${end.exitCode === 1 ? ` within ${LOCK_WAIT_S / 60} minutes` : ''}: ${end.stderr.trim() || `flock ended (exit ${end.exitCode})`}`,
                hint: end.notFound ? 'install util-linux (flock) there' : undefined,
              },
            ),
        },
      );
      program.write('locked\n');
    });
    const saying = setTimeout(() => {
      void this.host(['cat', '--', holderFile]).then((text) =>
        onWait?.(typeof text === 'string' && text.trim() ? text.trim() : 'another window or CLI'),
      );
    }, SAY_WAITING_AFTER_MS);
    const got = await acquired;
    clearTimeout(saying);
    if ('message' in got) return got;
    const wrote = await this.host(
      ['sh', '-c', 'cat >"$1"', 'gpudev-lock', holderFile],
      `${holder} since ${new Date().toISOString()}\n`,
    );
    if (typeof wrote !== 'string') {
      got.program.close();
      return wrote;
    }
    return { release: () => got.program.close() };
  }
}

/** Who is applying, as journals and locks name them: user@machine of this window or CLI. */
export function localOwner(): string {
  return `${os.userInfo().username}@${os.hostname()}`;
}

/** The journals a host's sessions may be in: the user's own, and root's where sudo is on. */
export async function openJournals(runner: Runner, sudo: boolean): Promise<HostJournal[] | GpuDevError> {
  const user = await HostJournal.open(runner, false);
  if ('message' in user) return user;
  if (!sudo) return [user];
  const root = await HostJournal.open(runner, true);
  return 'message' in root ? root : [user, root];
}
