import { MockAgent } from 'undici';
import { describe, expect, it } from 'vitest';
import { listReleases } from './github.js';

describe('GitHub API calls', () => {
  it('never send the token over plain http to another machine: FETCH_INSECURE before any request', async () => {
    const agent = new MockAgent();
    agent.disableNetConnect();
    const sent: unknown[] = [];
    agent
      .get('http://ghe.corp.example')
      .intercept({ path: /.*/ })
      .reply((req) => {
        sent.push(req.headers);
        return { statusCode: 200, data: '[]', responseOptions: { headers: { 'content-type': 'application/json' } } };
      })
      .persist();
    const err = await listReleases('o/r', {
      apiBase: 'http://ghe.corp.example/api/v3',
      token: 'ghp_secret',
      dispatcher: agent,
      env: {},
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'FETCH_INSECURE', message: expect.stringContaining('http://ghe.corp.example') });
    expect(sent).toEqual([]);
    await agent.close();
  });
});
