// `.gpudev.yaml`'s `sync.exclude`: gitignore-like patterns that keep files out of Run on Reservation's
// sync. A pattern without a `/` matches a name at any depth (`*.ckpt`, `wandb`), one with a `/` is
// anchored at the workspace root (`data/raw/**`); `*` and `?` stay within a name, `**` crosses folders,
// and a matched folder takes everything under it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CONFIG_FILE } from './config';
import { parseGpudevConfig } from './loadConfig';

function patternRegex(pattern: string): RegExp {
  const trimmed = pattern.trim().replace(/\/+$/, '');
  const anchored = trimmed.includes('/');
  const body = trimmed
    .replace(/^\//, '')
    .split(/(\*\*\/?|\*|\?)/)
    .map((part) =>
      part === '**/'
        ? '(?:.*/)?'
        : part === '**'
          ? '.*'
          : part === '*'
            ? '[^/]*'
            : part === '?'
              ? '[^/]'
              : part.replace(/[.+^${}()|[\]\\]/g, '\\$&'),
    )
    .join('');
  return new RegExp(`^${anchored ? '' : '(?:.*/)?'}${body}(?:/.*)?$`);
}

/** A predicate over workspace-relative paths (`/` separators) for the patterns; empty ones are ignored. */
export function excludeMatcher(patterns: readonly string[]): (relative: string) => boolean {
  const regexes = patterns.filter((p) => p.trim() && !p.trim().startsWith('#')).map(patternRegex);
  return (relative) => regexes.some((r) => r.test(relative));
}

/**
 * The workspace's `sync.exclude` as a predicate: undefined without a `.gpudev.yaml` (or without the key),
 * a sentence when the file cannot be used (a sync must not send what the user meant to keep back).
 */
export function syncExcludeOf(folder: string): ((relative: string) => boolean) | string | undefined {
  const file = path.join(folder, CONFIG_FILE);
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(file);
  } catch {
    return undefined;
  }
  if (!stat.isFile()) return `${CONFIG_FILE} is not a regular file: not read`;
  const parsed = parseGpudevConfig(fs.readFileSync(file, 'utf8'));
  if (!parsed.ok) {
    const [first] = parsed.problems;
    return `${CONFIG_FILE}:${first?.line ?? 1}: ${first?.message ?? 'cannot be read'} (its sync.exclude decides what is sent)`;
  }
  const patterns = parsed.config.sync?.exclude;
  return patterns?.length ? excludeMatcher(patterns) : undefined;
}
