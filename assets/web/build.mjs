// Builds dist/tickcast.js (the SDK, @msgpack/msgpack bundled in) and dist/demo.js (the
// demo page, which imports the SDK from ./tickcast.js rather than bundling a second copy)
// with esbuild. The output is committed (the server embeds
// it), so the build must be reproducible byte for byte: fixed options, paths relative to
// this folder, no timestamps, no source maps. `tsc` then writes dist/types/.
import { build } from 'esbuild';
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
await rm(`${root}/dist`, { recursive: true, force: true });

const common = {
  absWorkingDir: root,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: false,
  sourcemap: false,
  charset: 'utf8',
  legalComments: 'inline',
  logLevel: 'warning',
};

await build({ ...common, entryPoints: ['src/index.ts'], outfile: 'dist/tickcast.js' });
// The demo imports the SDK as `../index.js`; in dist/ that is the SDK's own bundle.
const sdkFromItsBundle = {
  name: 'sdk-from-its-bundle',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/index\.js$/ }, () => ({ path: './tickcast.js', external: true }));
  },
};
await build({ ...common, entryPoints: ['src/demo/main.ts'], outfile: 'dist/demo.js', plugins: [sdkFromItsBundle] });
