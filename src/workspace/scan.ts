// Reads the files an analysis looks at, bounded: no symlinks followed, nothing over 1 MiB, no binaries,
// at most MAX_FILES files and MAX_DEPTH folders deep. Nothing is executed or imported.
import { closeSync, lstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

export interface WorkspaceFile {
  /** Relative to the workspace root, with `/`. */
  readonly path: string;
  readonly text: string;
}

export interface ScanResult {
  readonly files: readonly WorkspaceFile[];
  /** "path: why", for files that were left out. */
  readonly skipped: readonly string[];
}

export const MAX_FILE_BYTES = 1024 * 1024;
const MAX_FILES = 2000;
const MAX_DEPTH = 8;
const SKIP_DIRS = new Set([
  '.git',
  'node_modules',
  '.venv',
  'venv',
  'env',
  '__pycache__',
  'site-packages',
  '.tox',
  '.mypy_cache',
  'dist',
  'build',
  'wandb',
  'checkpoints',
  'outputs',
]);

/** The files whose names an analysis reads: Python, scripts, dependency files, configs, Dockerfiles. */
export function isInteresting(name: string): boolean {
  return (
    /\.(py|sh|bash|toml|cfg|ya?ml|json)$/i.test(name) ||
    /^requirements.*\.(txt|in)$/i.test(name) ||
    /^(Dockerfile|Containerfile)(\..+)?$/.test(name) ||
    /\.(dockerfile|txt)$/i.test(name)
  );
}

export function scanWorkspace(root: string): ScanResult {
  const files: WorkspaceFile[] = [];
  const skipped: string[] = [];
  const walk = (dir: string, depth: number) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name));
    } catch {
      skipped.push(`${rel(root, dir)}: not readable`);
      return;
    }
    for (const entry of entries) {
      if (files.length >= MAX_FILES) {
        skipped.push(`${rel(root, dir)}: more than ${MAX_FILES} files, the rest not read`);
        return;
      }
      const full = join(dir, entry.name);
      if (entry.isSymbolicLink()) {
        skipped.push(`${rel(root, full)}: a symbolic link, not followed`);
      } else if (entry.isDirectory()) {
        if (SKIP_DIRS.has(entry.name) || (entry.name.startsWith('.') && entry.name !== '.github')) continue;
        if (depth >= MAX_DEPTH) skipped.push(`${rel(root, full)}: deeper than ${MAX_DEPTH} folders`);
        else walk(full, depth + 1);
      } else if (entry.isFile() && isInteresting(entry.name)) {
        const read = readBounded(full);
        if (typeof read === 'string') files.push({ path: rel(root, full), text: read });
        else skipped.push(`${rel(root, full)}: ${read.why}`);
      }
    }
  };
  walk(root, 0);
  return { files, skipped };
}

/** The file's text, or why it was not read (over 1 MiB, binary). Reads at most 1 MiB whatever the file claims. */
export function readBounded(path: string): string | { why: string } {
  const stat = lstatSync(path);
  // A link may point at /dev/zero, a FIFO would block the read: regular files only.
  if (!stat.isFile()) return { why: stat.isSymbolicLink() ? 'a symbolic link, not followed' : 'not a regular file' };
  const size = stat.size;
  if (size > MAX_FILE_BYTES) return { why: `${(size / 1024 / 1024).toFixed(0)} MiB, over the 1 MiB limit` };
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(Math.min(size, MAX_FILE_BYTES));
    const length = readSync(fd, buffer, 0, buffer.length, 0);
    const bytes = buffer.subarray(0, length);
    if (bytes.subarray(0, 8192).includes(0)) return { why: 'binary' };
    return bytes.toString('utf8');
  } finally {
    closeSync(fd);
  }
}

const rel = (root: string, path: string) => relative(root, path).split(sep).join('/') || '.';
