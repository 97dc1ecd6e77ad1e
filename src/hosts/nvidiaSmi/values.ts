/** nvidia-smi's ways of saying "no value". */
const ABSENT =
  /^\[?(N\/A|Not Supported|Unknown Error|Insufficient Permissions|GPU is lost|Requested functionality has been deprecated)\]?$/i;

/** A trimmed cell, or null when nvidia-smi reports no value. */
export function cleanCell(raw: string | undefined): string | null {
  const value = raw?.trim() ?? '';
  return value === '' || ABSENT.test(value) ? null : value;
}

/** A number with or without its unit ("81559 MiB", "69W", "34C", "12 %", "[N/A]"), or null. */
export function parseMeasure(raw: string | undefined): number | null {
  const value = cleanCell(raw);
  if (value === null) return null;
  const match = /^(-?\d+(?:\.\d+)?)\s*(?:MiB|W|C|%|MHz)?$/i.exec(value);
  return match ? Number(match[1]) : null;
}
