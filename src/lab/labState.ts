// What `gpudev lab up` started, in `<cache>/lab/lab.json`: `down` stops exactly that and nothing else.
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as z from 'zod/mini';

export const LAB_HOST = 'lab';
export const LAB_CLUSTER = 'lab-slurm';
/** The lab's sshd port: 2290, or GPUDEV_LAB_PORT (a second lab beside the first, as the tests start). */
export const labSshPort = (env: NodeJS.ProcessEnv = process.env) => Number(env.GPUDEV_LAB_PORT) || 2290;
/** The verbatim table the lab's GPUs replay (test/fixtures/nvidia-smi). */
export const LAB_SCENARIO = 'default-h100-x8-570.133.20';

const SshdSchema = z.strictObject({ dir: z.string(), port: z.number(), user: z.string(), pid: z.number() });
const DockerSchema = z.strictObject({ dir: z.string(), socket: z.string(), image: z.string(), pid: z.number() });
const SlurmSchema = z.strictObject({
  dir: z.string(),
  node: z.string(),
  /** False when the cluster was already running: `down` leaves it running. */
  startedByLab: z.boolean(),
});

export const LabStateSchema = z.strictObject({
  version: z.literal(1),
  /** The extension (or checkout) whose scripts and fake GPU tools the lab runs. */
  root: z.string(),
  sshd: z.nullable(SshdSchema),
  docker: z.nullable(DockerSchema),
  slurm: z.nullable(SlurmSchema),
  /** Our ssh config file holds the lab's blocks; ~/.ssh/config got our Include from the lab (and was made for it). */
  sshConfigFile: z.string(),
  knownHostsLine: z.nullable(z.string()),
  addedInclude: z.boolean(),
  createdUserConfig: z.boolean(),
  /** One sentence per part that is not running, with what would make it run. */
  missing: z.array(z.string()),
});
export type LabState = z.infer<typeof LabStateSchema>;

export function labDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.GPUDEV_CACHE ?? path.join(os.homedir(), '.cache', 'gpudev'), 'lab');
}

export const labStateFile = (dir: string) => path.join(dir, 'lab.json');

/** The lab's state, undefined when no lab is up; a sentence when the file is not ours. */
export async function readLabState(dir: string): Promise<LabState | undefined | string> {
  const text = await fs.readFile(labStateFile(dir), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return `${labStateFile(dir)} is not JSON; remove the folder ${dir} by hand`;
  }
  const parsed = LabStateSchema.safeParse(json);
  return parsed.success ? parsed.data : `${labStateFile(dir)}: ${parsed.error.issues[0]?.message ?? 'invalid'}`;
}

export async function writeLabState(dir: string, state: LabState): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const temporary = `${labStateFile(dir)}.${process.pid}`;
  await fs.writeFile(temporary, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await fs.rename(temporary, labStateFile(dir));
}

/** Whether a process of that id is alive. */
export function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
