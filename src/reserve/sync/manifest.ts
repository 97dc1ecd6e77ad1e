// What was last sent to a remote folder: each file's size, mtime and mode, kept on this machine with
// a token that the remote folder keeps too, so that a folder wiped or changed by someone else is noticed.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as z from 'zod/mini';

const FileStateSchema = z.strictObject({ size: z.number(), mtimeMs: z.number(), mode: z.number() });
export type FileState = z.infer<typeof FileStateSchema>;
export type Manifest = Readonly<Record<string, FileState>>;

const RecordSchema = z.strictObject({
  token: z.string().check(z.regex(/^[0-9a-f]{16,64}$/)),
  files: z.record(z.string(), FileStateSchema),
});
export type SyncRecord = z.infer<typeof RecordSchema>;

export const newToken = (): string => randomBytes(12).toString('hex');

/** The files' states now; a file that vanished meanwhile is left out. */
export async function statFiles(root: string, files: readonly string[]): Promise<Record<string, FileState>> {
  const states = await Promise.all(
    files.map((f) =>
      fs.stat(path.join(root, f)).then(
        (s) => [f, { size: s.size, mtimeMs: Math.floor(s.mtimeMs), mode: s.mode & 0o111 ? 0o755 : 0o644 }] as const,
        () => undefined,
      ),
    ),
  );
  return Object.fromEntries(states.filter((s) => s !== undefined));
}

/** What to send (new or changed by size, mtime or executable bit) and what to remove there. */
export function diffManifest(previous: Manifest, current: Manifest): { changed: string[]; deleted: string[] } {
  const changed = Object.keys(current).filter((f) => {
    const before = previous[f];
    const now = current[f]!;
    return !before || before.size !== now.size || before.mtimeMs !== now.mtimeMs || before.mode !== now.mode;
  });
  const deleted = Object.keys(previous).filter((f) => !(f in current));
  return { changed: changed.sort(), deleted: deleted.sort() };
}

/** The record kept on this machine; undefined when there is none or it cannot be read. */
export async function loadRecord(file: string): Promise<SyncRecord | undefined> {
  try {
    const parsed = RecordSchema.safeParse(JSON.parse(await fs.readFile(file, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Written whole, then renamed: a crash leaves the old record or the new one. */
export async function saveRecord(file: string, record: SyncRecord): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const partial = `${file}.${process.pid}.tmp`;
  await fs.writeFile(partial, JSON.stringify(record), { mode: 0o600 });
  await fs.rename(partial, file);
}

export async function forgetRecord(file: string): Promise<void> {
  await fs.rm(file, { force: true });
}
