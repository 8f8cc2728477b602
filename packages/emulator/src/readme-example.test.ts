import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readmeExample, readmeExampleTests, typeCheckExample } from '../../../tools/testing/readme-example.js';

// The README's example type-checked against the built package (no VM: a start would make this an e2e
// test); beyond the checks every README gets, a wrong option or handle member must fail it too.
const pkgDir = resolve(import.meta.dirname, '..');

describe('the README example', () => {
  readmeExampleTests(pkgDir);
  const example = readmeExample(pkgDir);

  it('fails on an option start does not take', () => {
    const wrong = example.replace(/\bstart\(\{/, 'start({ notAnOption: true, ');
    expect(wrong).not.toBe(example);
    expect(typeCheckExample(pkgDir, wrong).errors.join('\n')).toMatch(/notAnOption/);
  });

  it('fails on a member the handle does not have', () => {
    const wrong = example.replace(/\bemulator\.stop\(/, 'emulator.restart(');
    expect(wrong).not.toBe(example);
    expect(typeCheckExample(pkgDir, wrong).errors.join('\n')).toMatch(/restart/);
  });
});
