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

describe("status's import graph in the runtime", () => {
  it('status (the command scripts poll) loads neither the image, pull and release code nor stop, exec or the instance list', async () => {
    // The runtime's index loads each operation with import(): what status's own module reaches is
    // what a `status` evaluates. Beside stop, exec and list (api/instance-ops.ts) it reached about
    // 200 KB more of the bundle.
    const r = await build({
      entryPoints: [join(import.meta.dirname, '..', '..', 'emulator', 'src', 'api', 'status.ts')],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'node',
      packages: 'external',
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(r.metafile.inputs);
    expect(inputs.filter((i) => /\/(image|boot)\/|instance\/(stop|instances)\.ts|guest-command\.ts/.test(i))).toEqual(
      [],
    );
    const packages = new Set(
      Object.values(r.metafile.inputs).flatMap((i) => i.imports.filter((x) => x.external).map((x) => x.path)),
    );
    for (const heavy of ['@stack/emulator-image', '@stack/iso9660', '@stack/release-fetcher'])
      expect(packages.has(heavy), heavy).toBe(false);
  });
});
