// Fault injection for apply tests: a real Runner and Docker Engine whose calls are counted together.
import type { DockerEngine } from '../../src/hosts/docker';
import type { Runner } from '../../src/hosts/runner';

/** Runner and Docker calls counted together; the `failAt`-th one fails as the real call would. */
export function failing(
  runner: Runner,
  docker: DockerEngine,
  failAt: number,
): { runner: Runner; docker: DockerEngine; calls: () => number } {
  let calls = 0;
  const next = () => ++calls === failAt;
  const wrappedRunner: Runner = {
    label: runner.label,
    run: (argv, options) =>
      next()
        ? Promise.resolve({ exitCode: 3, stdout: '', stderr: `injected failure of ${argv.join(' ')}` })
        : runner.run(argv, options),
    hold: runner.hold?.bind(runner),
  };
  const wrappedDocker = Object.fromEntries(
    Object.entries(docker).map(([key, value]) => [
      key,
      typeof value !== 'function'
        ? value
        : (...args: unknown[]) => {
            if (!['remove', 'list', 'stop'].includes(key) && next())
              return Promise.reject(new Error(`injected failure of docker ${key}`));
            return (value as (...a: unknown[]) => unknown)(...args);
          },
    ]),
  ) as unknown as DockerEngine;
  return { runner: wrappedRunner, docker: wrappedDocker, calls: () => calls };
}
