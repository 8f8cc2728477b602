import { describe, expect, it } from 'vitest';
import { credentialEnv, emulatorUrlEnv } from './credentials.js';

describe('credentialEnv', () => {
  it('sets the variables the original run injects, in every framework spelling, under both brands (STACK_*, HEXCLAVE_*)', () => {
    const env = credentialEnv({
      projectId: 'p',
      publishableClientKey: 'k',
      secretServerKey: 's',
      apiUrl: 'http://127.0.0.1:1',
      dashboardUrl: 'http://127.0.0.1:2',
    });
    for (const brand of ['STACK', 'HEXCLAVE']) {
      for (const prefix of ['', 'NEXT_PUBLIC_', 'VITE_', 'EXPO_PUBLIC_']) {
        expect(env[`${prefix}${brand}_PROJECT_ID`]).toBe('p');
        expect(env[`${prefix}${brand}_PUBLISHABLE_CLIENT_KEY`]).toBe('k');
        expect(env[`${prefix}${brand}_API_URL`]).toBe('http://127.0.0.1:1');
      }
      expect(env[`${brand}_SECRET_SERVER_KEY`]).toBe('s');
      expect(env[`NEXT_PUBLIC_${brand}_SECRET_SERVER_KEY`]).toBeUndefined();
    }
    expect(Object.keys(env)).toHaveLength(26);
  });
});

describe('emulatorUrlEnv', () => {
  it("names the API and dashboard URLs as the original's tools read them", () => {
    const c = {
      projectId: 'p',
      publishableClientKey: 'k',
      apiUrl: 'http://127.0.0.1:27701',
      dashboardUrl: 'http://127.0.0.1:27700',
    };
    expect(emulatorUrlEnv(c)).toEqual({
      STACK_EMULATOR_API_URL: 'http://127.0.0.1:27701',
      STACK_EMULATOR_DASHBOARD_URL: 'http://127.0.0.1:27700',
    });
    // Not among what `run` injects.
    expect(credentialEnv(c).STACK_EMULATOR_API_URL).toBeUndefined();
  });
});
