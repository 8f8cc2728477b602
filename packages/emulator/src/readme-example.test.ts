import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// The README's example is what users copy: it is type-checked here against the built package as users
// import it (`@stack/emulator` resolved through its package.json exports to dist/index.d.ts), with the
// package's own compiler options. It starts nothing: a VM would make this an e2e test, and the names,
// options and return shapes are what a README gets wrong.
const pkgDir = resolve(import.meta.dirname, '..');
const readme = readFileSync(join(pkgDir, 'README.md'), 'utf8');
// An .mts file beside package.json: an ES module whatever the directory says, so top-level await works.
const exampleFile = join(pkgDir, 'readme-example.mts');
const builtTypes = join(pkgDir, 'dist', 'index.d.ts');

/** The ```ts block of the README's "## Example" section. */
function exampleOf(markdown: string): string {
  const section = markdown.split(/^## /m).find((s) => s.startsWith('Example\n'));
  const block = section && /```ts\n([\s\S]*?)```/.exec(section);
  if (!block?.[1]) throw new Error('README.md has no ```ts block under "## Example"');
  return block[1];
}

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
if (!parsed) throw new Error('tsconfig.json could not be read');
const options: ts.CompilerOptions = { ...parsed.options, noEmit: true, declaration: false, declarationMap: false };

let previous: ts.Program | undefined;

/** The type errors of `code` as a module of this package's directory, and the files the program read. */
function typeCheck(code: string): { errors: string[]; files: string[] } {
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, language, ...rest) =>
    name === exampleFile
      ? ts.createSourceFile(name, code, language)
      : getSourceFile.call(host, name, language, ...rest);
  host.fileExists = (name) => name === exampleFile || fileExists.call(host, name);
  host.readFile = (name) => (name === exampleFile ? code : readFile.call(host, name));
  // The previous program's files (lib, @types/node, the package's types) are reused: only the example changed.
  const program = ts.createProgram([exampleFile], options, host, previous);
  previous = program;
  const errors = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  return { errors, files: program.getSourceFiles().map((f) => f.fileName) };
}

describe('the README example', () => {
  const example = exampleOf(readme);

  it('is at most 10 lines', () => {
    expect(example.trimEnd().split('\n').length).toBeLessThanOrEqual(10);
  });

  it('type-checks against the built package, imported by its name', () => {
    expect(existsSync(builtTypes), `${builtTypes} is missing: run \`npx nx run emulator:build\` first`).toBe(true);
    const { errors, files } = typeCheck(example);
    expect(errors).toEqual([]);
    expect(files).toContain(builtTypes);
  });

  it('fails on a name the package does not export', () => {
    const { errors } = typeCheck(
      `${example}\nimport { startEverything } from '@stack/emulator';\nvoid startEverything;\n`,
    );
    expect(errors.join('\n')).toMatch(/startEverything/);
  });

  it('fails on an option start does not take', () => {
    const wrong = example.replace(/\bstart\(\{/, 'start({ notAnOption: true, ');
    expect(wrong).not.toBe(example);
    expect(typeCheck(wrong).errors.join('\n')).toMatch(/notAnOption/);
  });

  it('fails on a member the handle does not have', () => {
    const wrong = example.replace(/\bemulator\.stop\(/, 'emulator.restart(');
    expect(wrong).not.toBe(example);
    expect(typeCheck(wrong).errors.join('\n')).toMatch(/restart/);
  });
});
