import { describe, expect, it } from 'vitest';
import { credentialEnv } from './credentials.js';

describe('credentialEnv', () => {
  it('sets the variables the original run injects, in every framework spelling', () => {
    const env = credentialEnv({ projectId: 'p', publishableClientKey: 'k', secretServerKey: 's', apiUrl: 'http://127.0.0.1:1', dashboardUrl: 'http://127.0.0.1:2' });
    for (const prefix of ['', 'NEXT_PUBLIC_', 'VITE_', 'EXPO_PUBLIC_']) {
      expect(env[`${prefix}STACK_PROJECT_ID`]).toBe('p');
      expect(env[`${prefix}STACK_PUBLISHABLE_CLIENT_KEY`]).toBe('k');
      expect(env[`${prefix}STACK_API_URL`]).toBe('http://127.0.0.1:1');
    }
    expect(env.STACK_SECRET_SERVER_KEY).toBe('s');
    expect(env.NEXT_PUBLIC_STACK_SECRET_SERVER_KEY).toBeUndefined();
  });
});
