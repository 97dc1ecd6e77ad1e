// How containers are made on a host. Normal hosts: the GPU by an NVIDIA DeviceRequest, nothing else.
// The test profile (GPUDEV_TEST_HOST_PROFILE names its JSON file) is for machines without an NVIDIA
// runtime, where the project's own tests run: no DeviceRequest, the host's /usr bind-mounted into a
// local image, a fake nvidia-smi and fake torch on the paths. Never set it on a real GPU host.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as z from 'zod/mini';
import { tarFolder } from '../hosts/tar';

export const TestHostProfileSchema = z.strictObject({
  image: z.string().check(z.minLength(1)),
  gpuRequest: z.literal(false),
  binds: z.array(z.string()),
  env: z.record(z.string(), z.string()),
});
export type TestHostProfile = z.infer<typeof TestHostProfileSchema>;

export async function readTestHostProfile(env: NodeJS.ProcessEnv = process.env): Promise<TestHostProfile | undefined> {
  const file = env.GPUDEV_TEST_HOST_PROFILE;
  if (!file) return undefined;
  const parsed = TestHostProfileSchema.safeParse(JSON.parse(await fs.readFile(file, 'utf8')));
  if (!parsed.success)
    throw new Error(`GPUDEV_TEST_HOST_PROFILE ${file}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

/** The image sessions start from when `gpuDev.cosplay.image` (or `--image`) names none: PyTorch with CUDA. */
export const DEFAULT_COSPLAY_IMAGE = 'pytorch/pytorch:2.5.1-cuda12.4-cudnn9-runtime';

/** Where the shim lives in the container; its nvidia-smi goes first on PATH, its sitecustomize on PYTHONPATH. */
export const SHIM_DIR = '/opt/gpudev/shim';

/** The shim as the container gets it, to unpack at `/`: `shim/` without its tests, at SHIM_DIR (or at `prefix`). */
export function shimArchive(extensionRoot: string, prefix = SHIM_DIR.slice(1)): Promise<Buffer> {
  const skip = (relative: string) =>
    relative === 'tests' || relative.endsWith('__pycache__') || relative.endsWith('.pyc');
  return tarFolder(path.join(extensionRoot, 'shim'), prefix, skip, (relative) => relative.startsWith('bin/'));
}
