// Our own ssh config file (~/.ssh/gpudev/config): Host blocks between markers, replaced in place, and the
// one marked Include line in ~/.ssh/config that makes OpenSSH (and Remote-SSH) read it.

const begin = (alias: string) => `# gpudev:begin ${alias}`;
const end = (alias: string) => `# gpudev:end ${alias}`;
export const INCLUDE_BEGIN = '# >>> gpudev (GPU Dev Environments): reserved nodes >>>';
export const INCLUDE_END = '# <<< gpudev <<<';

/** One value of an ssh config line: quoted when it has spaces; a newline or quote can never get in. */
function value(text: string): string {
  if (/[\n\r"]/.test(text)) throw new Error(`not an ssh config value: ${JSON.stringify(text)}`);
  return /\s/.test(text) ? `"${text}"` : text;
}

/** `Host alias` and its options, in order; list values repeat the key (IdentityFile) or join (UserKnownHostsFile). */
export function hostBlock(
  alias: string,
  options: ReadonlyArray<readonly [string, string | readonly string[]]>,
): string {
  if (!/^[\w.-]+$/.test(alias)) throw new Error(`not an ssh alias: ${alias}`);
  const lines = [begin(alias), `Host ${alias}`];
  for (const [key, setting] of options) {
    if (typeof setting === 'string') lines.push(`  ${key} ${value(setting)}`);
    else if (key === 'IdentityFile') setting.forEach((file) => lines.push(`  ${key} ${value(file)}`));
    else if (setting.length) lines.push(`  ${key} ${setting.map(value).join(' ')}`);
  }
  lines.push(end(alias));
  return `${lines.join('\n')}\n`;
}

/** The file with `block` in place of the block of the same alias (or appended). */
export function upsertBlock(text: string, alias: string, block: string): string {
  const without = removeBlock(text, alias);
  return `${without}${without && !without.endsWith('\n') ? '\n' : ''}${block}`;
}

export function removeBlock(text: string, alias: string): string {
  const start = text.indexOf(`${begin(alias)}\n`);
  if (start < 0) return text;
  const stop = text.indexOf(`${end(alias)}\n`, start);
  return stop < 0 ? text : text.slice(0, start) + text.slice(stop + end(alias).length + 1);
}

/** ~/.ssh/config with our Include first (OpenSSH applies an Include inside a Host block only to that host); unchanged when present. */
export function withInclude(config: string, ourFile: string): string {
  if (hasInclude(config)) return config;
  return `${INCLUDE_BEGIN}\nInclude ${value(ourFile)}\n${INCLUDE_END}\n\n${config}`;
}

export function hasInclude(config: string): boolean {
  return config.includes(INCLUDE_BEGIN);
}

/** ~/.ssh/config without our Include (and the blank line withInclude put after it); unchanged when absent. */
export function withoutInclude(config: string): string {
  const start = config.indexOf(`${INCLUDE_BEGIN}\n`);
  const stop = config.indexOf(`${INCLUDE_END}\n`, start);
  if (start < 0 || stop < 0) return config;
  return config.slice(0, start) + config.slice(stop + INCLUDE_END.length + 1).replace(/^\n/, '');
}
