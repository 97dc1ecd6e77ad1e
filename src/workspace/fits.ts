// Which catalog GPUs an estimate fits, slowest (cheapest) first; the consumer card to develop against, and
// the cluster's GRES types to reserve.
import type { Catalog } from '../catalog/catalog';
import type { GpuEntry } from '../catalog/schema';

/** What the driver, ECC and other processes leave unusable: 5% of the card, at least 0.5 GiB. */
export function usableGiB(entry: GpuEntry): number {
  const gib = entry.vramMiB / 1024;
  return gib - Math.max(0.5, gib * 0.05);
}

/** The catalog's speed order: dense 16-bit tensor rate (FP32 where a card has none), then memory. */
const speed = (e: GpuEntry) => e.bf16Fp32Acc ?? e.fp16Fp32Acc ?? e.fp32Tflops;

/** 24 for both a 24576 MiB RTX 3090 and a 24564 MiB RTX 4090: sizes as sold, not as measured. */
const nominalGiB = (e: GpuEntry) => Math.round(e.vramMiB / 1024);

export interface Fits {
  /** Catalog keys, slowest first. */
  readonly fits: readonly string[];
  /** The smallest, then slowest, GeForce card it fits: the cosplay target. */
  readonly developAgainst?: string;
  /** The given GRES types whose GPU it fits, in the order given. */
  readonly reserve: readonly string[];
}

export function fittingGpus(catalog: Catalog, needGiB: number, gresTypes: readonly string[] = []): Fits {
  const fitting = catalog.entries
    .filter((e) => usableGiB(e) >= needGiB)
    .sort((a, b) => speed(a) - speed(b) || a.vramMiB - b.vramMiB || a.key.localeCompare(b.key));
  const consumer = fitting
    .filter((e) => e.family.startsWith('GeForce'))
    .sort((a, b) => nominalGiB(a) - nominalGiB(b) || speed(a) - speed(b));
  const fitKeys = new Set(fitting.map((e) => e.key));
  // A GRES type names a model ("a100") more often than a variant: it fits when every variant it may be fits.
  const reserve = gresTypes.filter((type) => {
    const found = catalog.lookup(type);
    const prefix = type.toLowerCase().replace(/[^a-z0-9]/g, '');
    const variants = found.ok
      ? [found.entry]
      : catalog.entries.filter((e) => e.key.replace(/-/g, '').startsWith(prefix));
    return variants.length > 0 && variants.every((e) => fitKeys.has(e.key));
  });
  return { fits: fitting.map((e) => e.key), ...(consumer[0] ? { developAgainst: consumer[0].key } : {}), reserve };
}
