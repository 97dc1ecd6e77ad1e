// A minimal POSIX ustar writer: enough to hand Docker's putArchive a folder of small text files.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

export interface TarEntry {
  /** Relative, with `/` separators; a trailing `/` makes a directory. */
  readonly name: string;
  readonly mode: number;
  readonly content?: Buffer;
}

const BLOCK = 512;

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function header(entry: TarEntry, size: number): Buffer {
  const block = Buffer.alloc(BLOCK);
  const isDir = entry.name.endsWith('/');
  let name = entry.name;
  let prefix = '';
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', name.length - 2);
    prefix = name.slice(0, cut);
    name = name.slice(cut + 1);
    if (Buffer.byteLength(name) > 100 || Buffer.byteLength(prefix) > 155)
      throw new Error(`tar: path too long: ${entry.name}`);
  }
  block.write(name, 0, 100, 'utf8');
  block.write(octal(entry.mode & 0o7777, 8), 100, 'ascii');
  block.write(octal(0, 8), 108, 'ascii'); // uid root
  block.write(octal(0, 8), 116, 'ascii'); // gid root
  block.write(octal(size, 12), 124, 'ascii');
  block.write(octal(0, 12), 136, 'ascii'); // mtime: reproducible archives
  block.write('        ', 148, 'ascii'); // checksum placeholder: eight spaces while summing
  block.write(isDir ? '5' : '0', 156, 'ascii');
  block.write('ustar\x0000', 257, 'binary');
  block.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return block;
}

/** The entries as one tar archive (two zero blocks at the end). */
export function tarArchive(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const content = entry.name.endsWith('/') ? Buffer.alloc(0) : (entry.content ?? Buffer.alloc(0));
    parts.push(header(entry, content.length), content, Buffer.alloc((BLOCK - (content.length % BLOCK)) % BLOCK));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(parts);
}

/**
 * A folder's files under `into/` (`a/b/c`: a/, a/b/, a/b/c/ first), skipping names `skip` matches;
 * executables (by their mode, or as `executable` says: a .vsix does not keep modes) get 0755.
 */
export async function tarFolder(
  root: string,
  into: string,
  skip: (relative: string) => boolean,
  executable: (relative: string) => boolean = () => false,
): Promise<Buffer> {
  const entries: TarEntry[] = into
    .split('/')
    .map((_, i, parts) => ({ name: `${parts.slice(0, i + 1).join('/')}/`, mode: 0o755 }));
  async function walk(relative: string): Promise<void> {
    const children = (await fs.readdir(path.join(root, relative), { withFileTypes: true })).sort((a, b) =>
      a.name.localeCompare(b.name),
    );
    for (const child of children) {
      const childPath = relative ? `${relative}/${child.name}` : child.name;
      if (skip(childPath)) continue;
      if (child.isDirectory()) {
        entries.push({ name: `${into}/${childPath}/`, mode: 0o755 });
        await walk(childPath);
      } else if (child.isFile()) {
        const file = path.join(root, childPath);
        const runnable = executable(childPath) || ((await fs.stat(file)).mode & 0o111) !== 0;
        entries.push({
          name: `${into}/${childPath}`,
          mode: runnable ? 0o755 : 0o644,
          content: await fs.readFile(file),
        });
      }
    }
  }
  await walk('');
  return tarArchive(entries);
}
