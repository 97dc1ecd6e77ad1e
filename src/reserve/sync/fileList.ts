// Which files of a workspace go to the cluster: git's view of it (tracked, plus untracked files that
// are not ignored), or, outside a git repository, a bounded walk that skips the usual caches.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { GpuDevError } from '../../core/errors';
import type { Runner } from '../../hosts/runner';

export interface FileListOptions {
  /** Leaves a file out (`.gpudev.yaml`'s `sync.exclude`, once that file exists). */
  readonly exclude?: (relative: string) => boolean;
  /** Files to send even when git ignores them (a launcher's config file). */
  readonly extra?: readonly string[];
  /** Outside git: the walk stops with an error past this many files. */
  readonly maxFiles?: number;
}

export interface FileList {
  /** Relative paths with `/` separators, sorted. */
  readonly files: string[];
  readonly source: 'git' | 'walk';
}

const DEFAULT_MAX_FILES = 20_000;
/** Never walked into outside git: caches, environments and other repositories' data. */
const SKIPPED_DIRS = new Set([
  '.git',
  '.hg',
  '.svn',
  'node_modules',
  '__pycache__',
  '.venv',
  'venv',
  '.mypy_cache',
  '.pytest_cache',
  '.ruff_cache',
  '.tox',
  '.ipynb_checkpoints',
  'wandb',
]);

/** A relative path that stays inside the workspace. */
export function isInside(relative: string): boolean {
  return (
    relative.length > 0 &&
    !relative.startsWith('/') &&
    !relative.includes('\0') &&
    relative.split('/').every((part) => part !== '..' && part !== '')
  );
}

async function walk(root: string, maxFiles: number): Promise<string[] | GpuDevError> {
  const files: string[] = [];
  const pending = [''];
  while (pending.length) {
    const dir = pending.pop()!;
    const children = await fs.readdir(path.join(root, dir), { withFileTypes: true }).catch(() => []);
    for (const child of children) {
      const relative = dir ? `${dir}/${child.name}` : child.name;
      if (child.isDirectory() && !SKIPPED_DIRS.has(child.name)) pending.push(relative);
      else if (child.isFile()) files.push(relative);
      if (files.length > maxFiles)
        return {
          message: `${root} has more than ${maxFiles} files and is not a git repository`,
          hint: 'make it one (git init; a .gitignore says what stays here), or open a smaller folder',
        };
    }
  }
  return files;
}

/** The workspace's files to sync; `local` runs git on this machine. */
export async function workspaceFiles(
  root: string,
  local: Runner,
  options: FileListOptions = {},
): Promise<FileList | GpuDevError> {
  const git = await local.run(['git', '-C', root, 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    timeoutMs: 60_000,
  });
  const fromGit = git.exitCode === 0;
  const listed = fromGit
    ? git.stdout.split('\0').filter(Boolean)
    : await walk(root, options.maxFiles ?? DEFAULT_MAX_FILES);
  if (!Array.isArray(listed)) return listed;
  const wanted = [...new Set([...listed, ...(options.extra ?? [])])].filter(
    (f) => isInside(f) && !(options.exclude?.(f) ?? false),
  );
  // git lists deleted files, submodules (folders) and symbolic links too: only regular files go.
  const regular = await Promise.all(
    wanted.map((f) =>
      fs.lstat(path.join(root, f)).then(
        (stat) => stat.isFile(),
        () => false,
      ),
    ),
  );
  return { files: wanted.filter((_, i) => regular[i]).sort(), source: fromGit ? 'git' : 'walk' };
}
