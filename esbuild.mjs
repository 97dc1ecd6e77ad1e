// Bundles the extension (node, cjs, `vscode` external), the `gpudev` CLI, and each webview (browser).
// With --tests: the unit, integration and host tests and the benchmarks into out/ instead. Both: the lab's fake GPU tools.
import * as esbuild from 'esbuild';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');
const tests = process.argv.includes('--tests');
const { version } = JSON.parse(readFileSync('package.json', 'utf8'));

const common = {
  bundle: true,
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  metafile: true,
  loader: { '.yaml': 'text' },
};
// ssh2's optional native bindings stay out of the bundle: it falls back to pure JavaScript without them.
const node = { platform: 'node', format: 'cjs', target: 'node20', external: ['*.node'] };
const webviews = existsSync('webviews')
  ? readdirSync('webviews', { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(`webviews/${d.name}/main.ts`))
      .map((d) => d.name)
  : [];

// ssh2 is its own bundle (dist/ssh2.js) that the extension requires on first SSH use: activation never loads it.
const lazySsh2 = {
  name: 'lazy-ssh2',
  setup: (build) => build.onResolve({ filter: /^ssh2$/ }, () => ({ path: './ssh2.js', external: true })),
};
// dockerode likewise (dist/dockerode.js), required on the first cosplay session; its own ssh2 is ours.
const lazyDockerode = {
  name: 'lazy-dockerode',
  setup: (build) => build.onResolve({ filter: /^dockerode$/ }, () => ({ path: './dockerode.js', external: true })),
};

const testEntries = [
  ...['test/unit', 'test/integration', 'test/host'].flatMap((dir) =>
    readdirSync(dir)
      .filter((f) => f.endsWith('.test.ts'))
      .map((f) => `${dir}/${f}`),
  ),
  // The host tier's mocha runner, loaded by VS Code's extension host (code-server's server or @vscode/test-electron).
  'test/host/index.ts',
  'bench/index.ts',
  // The CLI itself, for the tests that kill it mid-apply.
  'src/cli.ts',
];

// A production build starts from an empty dist/: no source map of an earlier development build may ship.
if (production) rmSync('dist', { recursive: true, force: true });

// The lab's fake GPU tools (lab/fake-gpu/bin runs them): shipped in the .vsix for `gpudev lab`, and used by
// the tests, so both builds make them.
const fakeGpu = {
  ...common,
  ...node,
  entryPoints: ['lab/fake-gpu/nvidia-smi.ts', 'lab/fake-gpu/mps-control.ts'],
  outdir: 'dist/lab',
};

const builds = tests
  ? [
      fakeGpu,
      {
        ...common,
        ...node,
        entryPoints: testEntries,
        outdir: 'out',
        outbase: '.',
        // vscode: the extension host's own API, for the host tier; typescript: its source scan, loaded from node_modules.
        external: ['mocha', 'vscode', 'typescript', '*.node'],
        define: { GPUDEV_VERSION: '"test"' },
      },
    ]
  : [
      {
        ...common,
        ...node,
        entryPoints: ['src/extension.ts'],
        outfile: 'dist/extension.js',
        external: ['vscode', './cosplay.js', './workspace.js', '*.node'],
        plugins: [lazySsh2, lazyDockerode],
      },
      { ...common, ...node, entryPoints: [createRequire(import.meta.url).resolve('ssh2')], outfile: 'dist/ssh2.js' },
      {
        ...common,
        ...node,
        entryPoints: [createRequire(import.meta.url).resolve('dockerode')],
        outfile: 'dist/dockerode.js',
        plugins: [lazySsh2],
      },
      { ...common, ...node, entryPoints: ['src/cosplay/index.ts'], outfile: 'dist/cosplay.js' },
      { ...common, ...node, entryPoints: ['src/workspace/index.ts'], outfile: 'dist/workspace.js' },
      fakeGpu,
      {
        ...common,
        ...node,
        entryPoints: ['src/cli.ts'],
        outfile: 'dist/cli.js',
        banner: { js: '#!/usr/bin/env node' },
        define: { GPUDEV_VERSION: JSON.stringify(version) },
      },
      ...webviews.map((name) => ({
        ...common,
        entryPoints: [`webviews/${name}/main.ts`],
        outfile: `dist/webviews/${name}.js`,
        platform: 'browser',
        format: 'iife',
        target: 'es2022',
      })),
    ];

function printSizes(results) {
  for (const result of results) {
    for (const file of Object.keys(result.metafile.outputs).filter((f) => !f.endsWith('.map'))) {
      console.log(`${file.padEnd(36)} ${(statSync(file).size / 1024).toFixed(1).padStart(8)} KiB`);
    }
  }
}

if (watch) {
  for (const options of builds) await (await esbuild.context(options)).watch();
  console.log('watching for changes…');
} else {
  const results = await Promise.all(builds.map((options) => esbuild.build(options)));
  if (!tests) {
    // Webviews load only the extension's own files: the codicon font and uPlot's styles travel inside dist/.
    mkdirSync('dist/webviews', { recursive: true });
    for (const file of ['codicon.css', 'codicon.ttf'])
      copyFileSync(`node_modules/@vscode/codicons/dist/${file}`, `dist/webviews/${file}`);
    copyFileSync('node_modules/uplot/dist/uPlot.min.css', 'dist/webviews/uPlot.min.css');
    printSizes(results);
    // The catalog is validated where it is loaded: a broken catalog fails the build, not a user.
    execFileSync(process.execPath, ['dist/cli.js', 'catalog', '--json'], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
}
