import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { expect, it } from 'vitest';

// A package README's example is what users copy: it is type-checked against the built package as users
// import it (the package name resolved through its package.json exports to dist/), with the package's
// own compiler options. Nothing runs: the names, options and shapes are what a README gets wrong.

/** The ```ts block of the "## Example" section of `pkgDir`'s README.md. */
export function readmeExample(pkgDir: string): string {
  const markdown = readFileSync(join(pkgDir, 'README.md'), 'utf8');
  const section = markdown.split(/^## /m).find((s) => s.startsWith('Example\n'));
  const block = section && /```ts\n([\s\S]*?)```/.exec(section);
  if (!block?.[1]) throw new Error(`${pkgDir}/README.md has no \`\`\`ts block under "## Example"`);
  return block[1];
}

const programs = new Map<string, ts.Program>();

/** The type errors of `code` as an ES module beside `pkgDir`'s package.json, and the files it read. */
export function typeCheckExample(pkgDir: string, code: string): { errors: string[]; files: string[] } {
  const parsed = ts.getParsedCommandLineOfConfigFile(
    join(pkgDir, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  if (!parsed) throw new Error(`${pkgDir}/tsconfig.json could not be read`);
  const options: ts.CompilerOptions = { ...parsed.options, noEmit: true, declaration: false, declarationMap: false };
  // .mts: an ES module whatever the directory's package.json says, so top-level await works.
  const file = join(pkgDir, 'readme-example.mts');
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, language, ...rest) =>
    name === file ? ts.createSourceFile(name, code, language) : getSourceFile.call(host, name, language, ...rest);
  host.fileExists = (name) => name === file || fileExists.call(host, name);
  host.readFile = (name) => (name === file ? code : readFile.call(host, name));
  // The previous program's files (lib, @types/node, the package's types) are reused: only the example changes.
  const program = ts.createProgram([file], options, host, programs.get(pkgDir));
  programs.set(pkgDir, program);
  const errors = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  return { errors, files: program.getSourceFiles().map((f) => f.fileName) };
}

/**
 * The tests every package README's example gets: at most 10 lines, type-checks against the built
 * package (and really reads its dist/index.d.ts), and the same check fails on a name it does not export.
 */
export function readmeExampleTests(pkgDir: string): void {
  const example = readmeExample(pkgDir);
  const name = (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { name: string }).name;
  const builtTypes = join(pkgDir, 'dist', 'index.d.ts');

  it('the README example is at most 10 lines', () => {
    expect(example.trimEnd().split('\n').length).toBeLessThanOrEqual(10);
  });

  it(`the README example type-checks against the built ${name}, imported by its name`, () => {
    expect(existsSync(builtTypes), `${builtTypes} is missing: build the package first`).toBe(true);
    const { errors, files } = typeCheckExample(pkgDir, example);
    expect(errors).toEqual([]);
    expect(files).toContain(builtTypes);
  });

  it('the same check fails on a name the package does not export', () => {
    const wrong = `${example}\nimport { notExportedByThePackage } from '${name}';\nvoid notExportedByThePackage;\n`;
    expect(typeCheckExample(pkgDir, wrong).errors.join('\n')).toMatch(/notExportedByThePackage/);
  });
}
