// How the workspace installs and starts, as found at its root: the `setup:` and `run:` that `gpudev init`
// writes and the SkyPilot export falls back to. Only names that exist; nothing is guessed beyond them.
import type { WorkspaceFile } from './scan';

export interface EntryCommands {
  readonly setup?: string;
  readonly run?: string;
}

const LAUNCH = /^(launch|run|train|start|serve)[\w-]*\.sh$/;
const SCRIPT = /^(train|finetune|fine_tune|pretrain|serve|server|main|app|infer|inference|generate)[\w-]*\.py$/;

export function entryCommands(files: readonly WorkspaceFile[]): EntryCommands {
  const root = files.filter((f) => !f.path.includes('/')).map((f) => f.path);
  const setup = root.includes('requirements.txt')
    ? 'pip install -r requirements.txt'
    : root.includes('pyproject.toml') || root.includes('setup.py')
      ? 'pip install -e .'
      : undefined;
  const launch = root.filter((p) => LAUNCH.test(p)).sort()[0];
  const script = root.filter((p) => SCRIPT.test(p)).sort()[0];
  const run = launch ? `bash ${launch}` : script ? `python ${script}` : undefined;
  return { ...(setup ? { setup } : {}), ...(run ? { run } : {}) };
}
