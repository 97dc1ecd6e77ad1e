// The default table as a container given only some GPUs sees it (NVIDIA_VISIBLE_DEVICES): the other
// GPUs' rows, MIG devices and processes are gone. Indices stay the host's, as the fake's -L keeps them.

const isTable = (line: string) => line.startsWith('|') || line.startsWith('+');
const leadingIndex = (line: string) => {
  const first = line.slice(1).trim().split(/\s+/)[0] ?? '';
  return /^\d+$/.test(first) ? Number(first) : null;
};

/** Keeps, of each section's row groups (the lines up to a `+` border), those of GPUs in `keep`. */
function filterGroups(lines: string[], start: number, keep: ReadonlySet<number>): number {
  let end = start;
  while (end < lines.length && isTable(lines[end]!)) end++;
  const kept: string[] = [];
  let group: string[] = [];
  for (const line of lines.slice(start, end)) {
    if (!line.startsWith('+')) {
      group.push(line);
      continue;
    }
    const gpu = group.length ? leadingIndex(group[0]!) : null;
    if (gpu === null || keep.has(gpu)) kept.push(...group, line);
    group = [];
  }
  if (!kept.length || !kept.at(-1)!.startsWith('+')) kept.push(lines[end - 1]!);
  lines.splice(start, end - start, ...kept);
  return start + kept.length;
}

export function visibleTable(text: string, keep: ReadonlySet<number>): string {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.startsWith('|=')) continue;
    const title = lines.slice(Math.max(0, i - 4), i).join('\n');
    if (/\|\s+GPU\s+Name|MIG devices:/.test(title)) {
      i = filterGroups(lines, i + 1, keep) - 1;
    } else if (/Processes:/.test(title)) {
      for (let j = i + 1; j < lines.length && lines[j]!.startsWith('|'); j++) {
        const gpu = leadingIndex(lines[j]!);
        if (gpu !== null && !keep.has(gpu)) lines.splice(j--, 1);
      }
    }
  }
  return lines.join('\n');
}
