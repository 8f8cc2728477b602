import { describe, expect, it } from 'vitest';
import { generateStackBaseEnv, parseEnvFile, STACK_BASE_ENV, STACK_BASE_ENV_KEYS } from './stack-base-env.js';

/** Stand-ins for Stack's two development env files: every variable the list takes, with test values. */
function devFiles(skip: string[] = []) {
  const lines = (from: string) =>
    STACK_BASE_ENV.filter((e) => 'from' in e && e.from === from && !skip.includes(e.key)).map(
      (e) => `${e.key}=test-${e.key.toLowerCase()}`,
    );
  return {
    backend: `# backend\n\n${lines('backend').join('\n')}\nUNRELATED=1\n`,
    dashboard: lines('dashboard').join('\r\n'),
  };
}

describe('the Stack base environment', () => {
  it('holds every variable of the list exactly once, none empty, in list order', () => {
    const text = generateStackBaseEnv(devFiles());
    const env = parseEnvFile(text);
    expect([...env.keys()]).toEqual([...STACK_BASE_ENV_KEYS]);
    for (const [k, v] of env) expect(v, k).not.toBe('');
    expect(new Set(STACK_BASE_ENV_KEYS).size).toBe(STACK_BASE_ENV_KEYS.length);
    expect(STACK_BASE_ENV_KEYS.length).toBeGreaterThanOrEqual(60);
    expect(env.get('STACK_SERVER_SECRET')).toBe('test-stack_server_secret');
    expect(env.get('NEXT_PUBLIC_STACK_IS_LOCAL_EMULATOR')).toBe('true');
    expect(env.has('UNRELATED')).toBe(false);
  });

  it('names each variable a development file lacks, and where to fix the list', () => {
    expect(() => generateStackBaseEnv(devFiles(['STACK_SERVER_SECRET', 'NEXT_PUBLIC_STACK_PROJECT_ID']))).toThrow(
      /lack NEXT_PUBLIC_STACK_PROJECT_ID \(apps\/dashboard\/\.env\.development\), STACK_SERVER_SECRET \(apps\/backend\/\.env\.development\).*STACK_BASE_ENV/,
    );
  });

  it('keeps values as written (quotes, = signs)', () => {
    expect(parseEnvFile('A="x=y"\nB=\n# c\n').get('A')).toBe('"x=y"');
    expect(() => parseEnvFile('nope')).toThrow(/not a KEY=VALUE line/);
  });
});
