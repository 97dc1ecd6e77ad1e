// Reservation lengths as people write them (30m, 2h, 1d, 1h30m) and as Slurm does (90, 1:30:00, 1-00:00:00).

/** Minutes, or a sentence saying what is accepted. */
export function parseDuration(text: string): number | string {
  const input = text.trim().toLowerCase();
  const friendly = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?:in)?)?$/.exec(input);
  if (friendly && input)
    return Number(friendly[1] ?? 0) * 1440 + Number(friendly[2] ?? 0) * 60 + Number(friendly[3] ?? 0) || invalid(text);
  const slurm = /^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$/.exec(input);
  if (!slurm) return invalid(text);
  const [, days, a, b, c] = slurm;
  let minutes: number;
  if (days !== undefined)
    minutes = Number(days) * 1440 + Number(a) * 60 + Number(b ?? 0) + Math.ceil(Number(c ?? 0) / 60); // d-h[:m[:s]]
  else if (c !== undefined)
    minutes = Number(a) * 60 + Number(b) + Math.ceil(Number(c) / 60); // h:m:s
  else if (b !== undefined)
    minutes = Number(a) + Math.ceil(Number(b) / 60); // m:s
  else minutes = Number(a); // minutes
  return minutes > 0 ? minutes : invalid(text);
}

function invalid(text: string): string {
  return `"${text}" is not a time: write 30m, 2h, 1h30m, 1d, or Slurm's 90, 1:30:00, 1-00:00:00`;
}

/** Slurm's D-HH:MM:SS. */
export function formatSlurmTime(minutes: number): string {
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const rest = minutes % 60;
  const hm = `${String(hours).padStart(2, '0')}:${String(rest).padStart(2, '0')}:00`;
  return days ? `${days}-${hm}` : hm;
}

/** A partition's MaxTime from sinfo (`UNLIMITED`, `infinite`, `1:00:00`, `2-00:00:00`) in minutes; null when unlimited. */
export function parseTimeLimit(text: string): number | null {
  if (/^(unlimited|infinite|n\/a)$/i.test(text.trim())) return null;
  const minutes = parseDuration(text);
  return typeof minutes === 'number' ? minutes : null;
}
