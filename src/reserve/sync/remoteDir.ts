// The remote folder a sync writes to: letters, digits, / . _ - and $USER-like variables, never `..`, so
// the scripts can name it without a shell ever reading more into it.
import type { GpuDevError } from '../../core/errors';

const REMOTE_DIR = /^[\w./$-]+$/;

export function checkRemoteDir(dir: string): GpuDevError | undefined {
  if (!REMOTE_DIR.test(dir) || dir.split('/').includes('..'))
    return {
      message: `the remote folder "${dir}" may only hold letters, digits, / . _ - and $USER-like variables`,
    };
  return undefined;
}
