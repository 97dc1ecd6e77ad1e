// `.gpudev.yaml`'s `sync.exclude`: gitignore-like patterns that keep files out of Run on Reservation's
// sync. A pattern without a `/` matches a name at any depth (`*.ckpt`, `wandb`), one with a `/` is
// anchored at the workspace root (`data/raw/**`); `*` and `?` stay within a name, `**` crosses folders,
// and a matched folder takes everything under it.
import { readWorkspaceConfig } from './readConfig';

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
  const config = readWorkspaceConfig(folder);
  if (typeof config === 'string') return `${config} (its sync.exclude decides what is sent)`;
  const patterns = config?.sync?.exclude;
  return patterns?.length ? excludeMatcher(patterns) : undefined;
}
