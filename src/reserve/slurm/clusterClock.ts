// The login node's clock: every remote script prints `date +%s %z` first, so Slurm's timestamps (which
// sbatch and squeue print in the login node's local time, without an offset) are read in the cluster's
// zone, and "now" is the cluster's now — whatever zone the laptop is in.

const MARK = '@@gpudev-clock';

/** The script line that prints the mark, the epoch seconds and the offset (+hhmm). */
export const CLOCK_LINE = `printf '%s %s\\n' '${MARK}' "$(date '+%s %z')"`;

export interface ClusterClock {
  /** The login node's time when the script ran. */
  readonly epochMs: number;
  /** Its offset from UTC, in minutes east ("+0530" → 330). */
  readonly offsetMinutes: number;
  /** As `date +%z` printed it ("-1100"). */
  readonly zone: string;
}

export function parseClock(output: string): ClusterClock | undefined {
  const match = new RegExp(`^${MARK} (\\d+) ([+-])(\\d\\d)(\\d\\d)$`, 'm').exec(output);
  if (!match) return undefined;
  const offsetMinutes = (match[2] === '-' ? -1 : 1) * (Number(match[3]) * 60 + Number(match[4]));
  return { epochMs: Number(match[1]) * 1000, offsetMinutes, zone: `${match[2]}${match[3]}${match[4]}` };
}

/** The output without the clock's line. */
export const withoutClock = (output: string) =>
  output
    .split('\n')
    .filter((line) => !line.startsWith(`${MARK} `))
    .join('\n');

/**
 * A Slurm timestamp ("2026-12-03T03:15:00") read in the cluster's zone; null for "N/A", "Unknown" and
 * anything else. Without a clock it is read as this machine's local time (what Slurm meant on one box).
 */
export function slurmTime(text: string, clock: ClusterClock | undefined): Date | null {
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d))?$/.exec(text.trim());
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1).map((f) => Number(f ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (!clock) return new Date(year, month - 1, day, hour, minute, second);
  return new Date(Date.UTC(year, month - 1, day, hour, minute, second) - clock.offsetMinutes * 60_000);
}

const two = (n: number) => String(n).padStart(2, '0');

/** "2026-12-03 14:05" in this machine's zone (what the panel, the view and the CLI show). */
export function localTime(date: Date): string {
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())} ${two(date.getHours())}:${two(date.getMinutes())}`;
}

/** "UTC-11:00" for people. */
export function zoneName(zone: string): string {
  return `UTC${zone.slice(0, 3)}:${zone.slice(3)}`;
}
