import * as fs from 'node:fs';
import * as path from 'node:path';
import { MONITOR_FIELDS, parseQueryCsv, toGpuSamples } from '../src/hosts/nvidiaSmi/queryCsv';
import { parseSmiTable } from '../src/hosts/nvidiaSmi/table';
import { medianNsPerCall, printComparison } from './measure';
import { monitoringBenchmark } from './monitoring';
import { processSessionBenchmark } from './processSession';
import { attachBenchmark, reservationBenchmark } from './reservation';
import { smiFixtureDir } from '../test/unit/fixtures';
import { shimBenchmarks } from './shim';
import { syncBenchmark } from './sync';
import { torchImportBenchmark } from './torchImport';

const table = fs.readFileSync(path.join(smiFixtureDir, 'default-h200-x8-580.95.05.txt'), 'utf8');

// The monitor's sample of the same 8 GPUs, in the form `nvidia-smi --query-gpu … --format=csv,noheader,nounits` prints.
const csv = parseSmiTable(table)
  .gpus.map((g, i) =>
    [
      g.index,
      `GPU-0000000${i}-0000-0000-0000-000000000000`,
      g.name,
      g.memoryUsedMiB,
      g.memoryTotalMiB,
      g.utilizationPct,
      g.temperatureC,
      g.powerDrawW?.toFixed(2),
      g.powerCapW?.toFixed(2),
      g.migMode,
      g.busId,
    ].join(', '),
  )
  .join('\n');

console.log(`gpudev bench (node ${process.version}; medians of 15 rounds)\n`);
printComparison({
  name: 'P0 monitor sample, 8 GPUs: reading one sample once nvidia-smi has answered',
  ours: {
    label: 'parse --query-gpu CSV (11 fields)',
    ns: medianNsPerCall(() => toGpuSamples(parseQueryCsv(csv, MONITOR_FIELDS))),
  },
  naive: { label: 'scrape the default nvidia-smi table', ns: medianNsPerCall(() => parseSmiTable(table)) },
});

shimBenchmarks();
if (process.env.GPUDEV_BENCH === 'S1') process.exit(0); // the shim's start-up (S1, S2) alone
torchImportBenchmark();

// P1 runs a real sshd (lab/infra/sshd.sh); GPUDEV_BENCH_SECONDS shortens it for a quick look.
// P2 and P4 a real Slurm (lab/infra/slurm.sh) behind the same kind of sshd. GPUDEV_BENCH=P2 runs them alone.
// P6 the sshd alone; GPUDEV_BENCH=P6 runs it alone. P7 the sshd and the test user (root makes it); GPUDEV_BENCH=P7.
void (async () => {
  if (process.env.GPUDEV_BENCH === 'P6') return syncBenchmark();
  if (process.env.GPUDEV_BENCH === 'P7') return processSessionBenchmark();
  if (process.env.GPUDEV_BENCH !== 'P2') await monitoringBenchmark(csv, Number(process.env.GPUDEV_BENCH_SECONDS ?? 60));
  await reservationBenchmark();
  await attachBenchmark();
  await syncBenchmark();
  await processSessionBenchmark();
})();
