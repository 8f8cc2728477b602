/** The image the example runs (`stack` by default; the repository's own test runs `reference`). */
export const IMAGE = process.env.EXAMPLE_IMAGE ?? 'stack';

type Env = Record<string, string | undefined>;

const headers = (env: Env) => ({
  'x-stack-project-id': env.STACK_PROJECT_ID ?? 'internal',
  'x-stack-publishable-client-key': env.STACK_PUBLISHABLE_CLIENT_KEY ?? '',
});

/** The reference appliance's test-data endpoint: a value stored in its database. */
export async function putData(env: Env, name: string, value: string): Promise<void> {
  const r = await fetch(`${env.STACK_API_URL}/api/v1/internal/emulator-test/data/${name}`, {
    method: 'PUT',
    headers: headers(env),
    body: value,
  });
  if (r.status !== 200) throw new Error(`PUT ${name}: ${r.status} ${await r.text()}`);
}

/** The stored value, or undefined (404). */
export async function getData(env: Env, name: string): Promise<string | undefined> {
  const r = await fetch(`${env.STACK_API_URL}/api/v1/internal/emulator-test/data/${name}`, { headers: headers(env) });
  if (r.status === 404) return undefined;
  if (r.status !== 200) throw new Error(`GET ${name}: ${r.status}`);
  return r.text();
}
