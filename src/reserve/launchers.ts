// What a command run on a reservation needs from the workspace: the script a launcher (torchrun,
// accelerate launch, deepspeed, python [-m]) starts, and every argument naming a workspace file, so that
// they are synced even when git ignores them, and a missing script is refused before anything runs.
import { closest } from '../core/suggest';

export interface LaunchFiles {
  /** Workspace files the command names (its script first), relative to the workspace root. */
  readonly files: string[];
  /** Why the command cannot run as typed ("train.py is not in the workspace: did you mean trian.py?"). */
  readonly problems: string[];
}

/** Launcher options that take no value; any other `--option` takes the next word unless written `--option=value`. */
const FLAGS: Readonly<Record<string, ReadonlySet<string>>> = {
  torchrun: new Set(['--standalone', '--no-python', '--no_python', '--run-path', '--run_path', '--module', '-m']),
  accelerate: new Set([
    '--multi_gpu',
    '--cpu',
    '--use_deepspeed',
    '--use_fsdp',
    '--use_megatron_lm',
    '--use_xpu',
    '--debug',
    '--no_python',
    '--module',
    '-m',
    '--quiet',
    '-q',
    '--same_network',
    '--rdzv_conf',
  ]),
  deepspeed: new Set([
    '--no_python',
    '--module',
    '--no_local_rank',
    '--force_multi',
    '--bind_cores_to_rank',
    '--no_ssh_check',
    '--elastic_training',
  ]),
};
/** python's own options that take a value. */
const PYTHON_VALUED = new Set(['-W', '-X', '-Q']);
/** Options whose value is a file the run reads: missing, it is refused. */
const CONFIG_OPTION = /^--?(config|cfg|config[_-]file|config[_-]path|deepspeed|deepspeed[_-]config|ds[_-]config)$/;
const SCRIPT = /\.(py|sh)$/;

const isPython = (word: string) => /^python(\d+(\.\d+)?)?$/.test(word.replace(/^.*\//, ''));
const baseName = (word: string) => word.replace(/^.*\//, '');

/** "pkg.train" → the workspace files that would be that module, when one of them is there. */
function moduleFile(module: string, isFile: (relative: string) => boolean): string | undefined {
  const base = module.replace(/\./g, '/');
  return [`${base}.py`, `${base}/__main__.py`].find(isFile);
}

/** Where the script (or `-m`'s module) is in argv; `program`: argv runs no launcher, `inline`: python -mpkg. */
interface Target {
  readonly index: number;
  readonly module: boolean;
  readonly inline?: string;
  readonly program?: boolean;
}

/** The script (or `-m`'s module) after a launcher's own options. */
function launcherTarget(argv: readonly string[], from: number, flags: ReadonlySet<string>): Target {
  for (let i = from; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--') return { index: i + 1, module: false };
    if (!word.startsWith('-')) return { index: i, module: false };
    if (word === '-m' || word === '--module') {
      // The module is the first positional word: torchrun -m pkg.train; accelerate launch -m pkg.train.
      const rest = launcherTarget(argv, i + 1, flags);
      return { index: rest.index, module: true };
    }
    if (word.includes('=') || flags.has(word)) continue;
    // A value that looks like the script means the option is a flag this table does not know.
    if (!SCRIPT.test(argv[i + 1] ?? '')) i++;
  }
  return { index: argv.length, module: false };
}

/** python's script or module: python [-u -O -B -X opt …] script.py | -m module | -c code. */
function pythonTarget(argv: readonly string[], from: number): Target {
  for (let i = from; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '-c') return { index: argv.length, module: false };
    if (word === '-m') return { index: i + 1, module: true };
    if (/^-m./.test(word)) return { index: i, module: true, inline: word.slice(2) };
    if (!word.startsWith('-') || word === '-') return { index: i, module: false };
    if (PYTHON_VALUED.has(word)) i++;
  }
  return { index: argv.length, module: false };
}

/** Where the program proper starts: after `env A=B`, and the launcher's name (`accelerate launch` is two words). */
function target(argv: readonly string[]): Target {
  let start = 0;
  if (baseName(argv[0] ?? '') === 'env') for (start = 1; /^\w+=/.test(argv[start] ?? ''); start++);
  const program = baseName(argv[start] ?? '');
  if (program === 'torchrun') return launcherTarget(argv, start + 1, FLAGS['torchrun']!);
  if (program === 'deepspeed') return launcherTarget(argv, start + 1, FLAGS['deepspeed']!);
  if (program === 'accelerate' && argv[start + 1] === 'launch')
    return launcherTarget(argv, start + 2, FLAGS['accelerate']!);
  if (isPython(program)) {
    if (
      argv[start + 1] === '-m' &&
      ['torch.distributed.run', 'torch.distributed.launch'].includes(argv[start + 2] ?? '')
    )
      return launcherTarget(argv, start + 3, FLAGS['torchrun']!);
    return pythonTarget(argv, start + 1);
  }
  return { index: start, module: false, program: true };
}

const relative = (word: string) => word.replace(/^\.\//, '');

/**
 * The workspace files a command names. `isFile` says whether a relative path is a file in the workspace;
 * `candidates` lists them, for "did you mean".
 */
export function launchFiles(
  argv: readonly string[],
  isFile: (relative: string) => boolean,
  candidates: () => readonly string[] = () => [],
): LaunchFiles {
  const files: string[] = [];
  const problems: string[] = [];
  const missing = (what: string, name: string) => {
    const near = closest(name, candidates());
    problems.push(`${what} ${name} is not in the workspace${near.length ? `: did you mean ${near.join(', ')}?` : ''}`);
  };
  const found = target(argv);
  const name = found.inline ?? argv[found.index];
  if (name !== undefined && found.module) {
    const file = moduleFile(name, isFile);
    if (file) files.push(file);
  } else if (name !== undefined && !(found.program && !name.includes('/'))) {
    const script = relative(name);
    if (isFile(script)) files.push(script);
    else if (SCRIPT.test(script) || !found.program) missing('the script', script);
  }
  argv.forEach((word, i) => {
    if (i === found.index) return;
    const [option, inline] = word.startsWith('-') && word.includes('=') ? word.split(/=(.*)/s) : [argv[i - 1], word];
    if (inline === undefined || inline.startsWith('-') || inline.startsWith('/')) return;
    const file = relative(inline);
    if (isFile(file)) {
      if (!files.includes(file)) files.push(file);
    } else if (option && CONFIG_OPTION.test(option)) missing(`${option}'s file`, file);
  });
  return { files, problems };
}
