/** One GPU instance from `nvidia-smi mig -lgi`. */
export interface MigInstance {
  readonly gpu: number;
  readonly profile: string;
  readonly profileId: number;
  readonly instanceId: number;
  /** Memory-slice placement. */
  readonly start: number;
  readonly size: number;
}

const ROW = /^\|\s*(\d+)\s+MIG\s+(\S+)\s+(\d+)\s+(\d+)\s+(\d+):(\d+)\s*\|\s*$/;

/** Parses `nvidia-smi mig -lgi`; rows that do not fit are skipped and reported. Never throws. */
export function parseMigInstances(text: string): { instances: MigInstance[]; problems: string[] } {
  const instances: MigInstance[] = [];
  const problems: string[] = [];
  const rule = text.split(/\r?\n/).findIndex((line) => /^\|=+\|$/.test(line.trim()));
  if (rule < 0) return { instances, problems: /No GPU instances found/i.test(text) ? [] : ['no GPU instance table'] };
  for (const line of text.split(/\r?\n/).slice(rule + 1)) {
    if (!line.trim().startsWith('|')) continue;
    const match = ROW.exec(line.trim());
    if (!match) {
      problems.push(`GPU instance row not understood: ${JSON.stringify(line.trim().slice(0, 80))}`);
      continue;
    }
    const [, gpu, profile, profileId, instanceId, start, size] = match;
    instances.push({
      gpu: Number(gpu),
      profile: profile!,
      profileId: Number(profileId),
      instanceId: Number(instanceId),
      start: Number(start),
      size: Number(size),
    });
  }
  return { instances, problems };
}
