import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

// What the bin loads before an action runs: the static imports reachable from src/bin.ts, as esbuild
// (the bundler of dist/cli.js) splits them, packages left external so no build is needed. Building the
// command tree must stay cheap: the runtime (@stack/emulator's main entry: zod, the QMP and agent
// clients...) is loaded by the actions, with import(). One value import of it in a command's file put
// 775 KB on the path of every --version.
async function staticImports(): Promise<string[]> {
  const src = import.meta.dirname;
  const r = await build({
    entryPoints: { cli: join(src, 'bin.ts') },
    outdir: join(src, '..', 'tmp-startup-imports'), // not written (write: false)
    write: false,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    packages: 'external',
    metafile: true,
    logLevel: 'silent',
  });
  const outputs = r.metafile.outputs;
  const entry = Object.keys(outputs).find((f) => outputs[f]!.entryPoint?.endsWith('bin.ts'));
  const seen = new Set<string>();
  const externals = new Set<string>();
  const queue = [entry!];
  while (queue.length) {
    const f = queue.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    for (const i of outputs[f]!.imports) {
      if (i.kind !== 'import-statement') continue; // dynamic import(): loaded when needed
      if (i.external) externals.add(i.path);
      else queue.push(i.path);
    }
  }
  return [...externals].filter((p) => !p.startsWith('node:')).sort();
}

describe('start-up import graph', () => {
  it('the bin statically loads commander and the scenario list only, never the runtime, zod or ora', async () => {
    expect(await staticImports()).toEqual(['@stack/emulator/bench-scenarios', 'commander']);
  });
});
