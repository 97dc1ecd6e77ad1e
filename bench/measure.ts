/** Median nanoseconds per call of `fn`, over `rounds` rounds of `calls` calls each, after a warm-up round. */
export function medianNsPerCall(fn: () => unknown, calls = 2000, rounds = 15): number {
  const samples: number[] = [];
  for (let round = 0; round <= rounds; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) fn();
    const ns = Number(process.hrtime.bigint() - start) / calls;
    if (round > 0) samples.push(ns);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}

export interface Comparison {
  readonly name: string;
  readonly ours: { label: string; ns: number };
  readonly naive: { label: string; ns: number };
  /** What the issue asks for, e.g. "≥ 20x"; shown beside the measured ratio. */
  readonly goal?: string;
}

export function printComparison(c: Comparison): void {
  const us = (ns: number) => `${(ns / 1000).toFixed(2)} µs`;
  console.log(`${c.name}`);
  console.log(`  ours : ${c.ours.label.padEnd(44)} ${us(c.ours.ns).padStart(12)}`);
  console.log(`  naive: ${c.naive.label.padEnd(44)} ${us(c.naive.ns).padStart(12)}`);
  console.log(
    `  ratio: ${(c.naive.ns / c.ours.ns).toFixed(1)}x less work than the naive way${c.goal ? ` (goal ${c.goal})` : ''}\n`,
  );
}
