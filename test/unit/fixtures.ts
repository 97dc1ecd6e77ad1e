import * as fs from 'node:fs';
import * as path from 'node:path';

/** The repository root, from anywhere under out/ (bundled tests, benchmarks) or from test/unit (source). */
const bundled = __dirname.lastIndexOf(`${path.sep}out${path.sep}`);
export const repoRoot = bundled >= 0 ? __dirname.slice(0, bundled) : path.resolve(__dirname, '../..');
export const smiFixtureDir = path.join(repoRoot, 'test/fixtures/nvidia-smi');

export interface FixtureMeta {
  command: string;
  category: string;
  expected?: {
    header: { nvidia_smi_version: string; driver_version: string; cuda_version: string; header_style: string };
    gpus: Array<{
      index: number;
      name: string;
      memory_total_mib: number | null;
      memory_used_mib: number | null;
      power_cap_w: number | null;
      bus_id: string;
      mig_mode: string | null;
    }>;
    mig_devices: Array<{
      gpu: number;
      gi: number;
      ci: number;
      mig_dev: number;
      memory_used_mib: number;
      memory_total_mib: number;
      sm: number;
    }>;
    processes: Array<{
      gpu: number;
      gi: number | null;
      ci: number | null;
      pid: number;
      type: string;
      name: string;
      memory_mib: number | null;
    }>;
  };
}

export function smiFixtures(prefix: string): Array<{ name: string; text: string; meta: FixtureMeta }> {
  return fs
    .readdirSync(smiFixtureDir)
    .filter((file) => file.startsWith(prefix) && file.endsWith('.txt'))
    .sort()
    .map((file) => {
      const name = file.replace(/\.txt$/, '');
      return {
        name,
        text: fs.readFileSync(path.join(smiFixtureDir, file), 'utf8'),
        meta: JSON.parse(fs.readFileSync(path.join(smiFixtureDir, `${name}.meta.json`), 'utf8')) as FixtureMeta,
      };
    });
}
