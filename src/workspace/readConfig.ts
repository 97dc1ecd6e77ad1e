// The workspace's `.gpudev.yaml` read from disk for the CLI and the sync: none, the config, or a
// sentence saying why it cannot be used (a symlink or other non-file, a problem with its line).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CONFIG_FILE, type GpudevConfig } from './config';
import { parseGpudevConfig } from './loadConfig';

export function readWorkspaceConfig(folder: string): GpudevConfig | string | undefined {
  const file = path.join(folder, CONFIG_FILE);
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(file);
  } catch {
    return undefined;
  }
  if (!stat.isFile()) return `${CONFIG_FILE} is not a regular file: not read`;
  const parsed = parseGpudevConfig(fs.readFileSync(file, 'utf8'));
  if (parsed.ok) return parsed.config;
  const [first] = parsed.problems;
  return `${CONFIG_FILE}:${first?.line ?? 1}: ${first?.message ?? 'cannot be read'}`;
}
