#!/usr/bin/env node
// Bundles the CLI (dist/bin.js, as tsc wrote it, with the workspace packages, zod, commander...) into
// dist/cli.js plus chunks for its lazily loaded commands. Node 20's ESM loader costs about 0.1 s to
// resolve, read and link the ~150 modules of `pull`; bundled, the CLI starts that much sooner.
// The chunks stay in dist/ itself: the code reads ../package.json relative to its own file.
import { chmodSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';

// zod's `z` and `z.core` namespaces re-export every locale (`z.locales`: 366 KB of the runtime chunk,
// about half of what a command that needs the runtime parses), though only English is ever configured
// (zod does that itself, importing locales/en.js directly) and nothing here reads z.locales. In the
// bundle, both namespaces' `locales` hold English only.
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]v4[\\/](classic[\\/]external|core[\\/]index)\.js$/.test(args.importer)
        ? { path: join(dirname(args.importer), '..', 'locales', 'en.js'), namespace: 'zod-english-only' }
        : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'zod-english-only' }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(args.path)};`,
      resolveDir: dirname(args.path),
    }));
  },
};

const dist = join(import.meta.dirname, '..', 'dist');
for (const f of readdirSync(dist)) if (/^cli(-chunk-[\w-]+)?\.js$/.test(f)) rmSync(join(dist, f));
const result = await build({
  entryPoints: { cli: join(dist, 'bin.js') },
  outdir: dist,
  chunkNames: 'cli-chunk-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // CommonJS dependencies bundled into ESM need a require().
  banner: {
    js: "import { createRequire as __stackCreateRequire } from 'node:module'; const require = __stackCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
  metafile: true,
  plugins: [zodEnglishOnly],
});
// What each output file imports, for the test that checks the bin loads nothing but Node built-ins
// and its own chunks (not published).
writeFileSync(join(dist, 'cli.meta.json'), JSON.stringify(result.metafile));
chmodSync(join(dist, 'cli.js'), 0o755);
