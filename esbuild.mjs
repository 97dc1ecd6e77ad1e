// Bundles the extension (node, cjs, `vscode` external), the `gpudev` CLI, and each webview (browser).
import * as esbuild from 'esbuild';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');
const { version } = JSON.parse(readFileSync('package.json', 'utf8'));

const common = { bundle: true, sourcemap: !production, minify: production, logLevel: 'warning', metafile: true };
const webviews = existsSync('webviews')
  ? readdirSync('webviews', { withFileTypes: true }).filter((d) => d.isDirectory() && existsSync(`webviews/${d.name}/main.ts`)).map((d) => d.name)
  : [];

const builds = [
  { ...common, entryPoints: ['src/extension.ts'], outfile: 'dist/extension.js', platform: 'node', format: 'cjs', target: 'node20', external: ['vscode'] },
  {
    ...common, entryPoints: ['src/cli.ts'], outfile: 'dist/cli.js', platform: 'node', format: 'cjs', target: 'node20',
    banner: { js: '#!/usr/bin/env node' }, define: { GPUDEV_VERSION: JSON.stringify(version) },
  },
  ...webviews.map((name) => ({ ...common, entryPoints: [`webviews/${name}/main.ts`], outfile: `dist/webviews/${name}.js`, platform: 'browser', format: 'iife', target: 'es2022' })),
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
  printSizes(await Promise.all(builds.map((options) => esbuild.build(options))));
}
