import { EmulatorError } from '../errors.js';

/**
 * Refuses host ports that collide: two services on one port, or a mock OAuth port that is one of the
 * guest's own (it is forwarded to the same port inside the guest).
 */
export function checkPorts(
  ports: Record<'dashboard' | 'backend' | 'minio' | 'inbucket' | 'mockOauth', number>,
  portPrefix: string,
): void {
  const seen = new Map<number, string>();
  for (const [name, port] of Object.entries(ports)) {
    const other = seen.get(port);
    if (other)
      throw new EmulatorError('CONFIG_INVALID', `the ${name} and ${other} host ports are both ${port}`, {
        hint: 'give each EMULATOR_*_PORT its own value',
      });
    seen.set(port, name);
  }
  // Mock OAuth is forwarded to the same port inside the guest: it must not be one of the guest's others.
  const guest = {
    [`${portPrefix}01`]: 'dashboard',
    [`${portPrefix}02`]: 'backend',
    9090: 'minio',
    9001: 'inbucket',
  } as Record<string, string>;
  const taken = guest[String(ports.mockOauth)];
  if (taken)
    throw new EmulatorError(
      'CONFIG_INVALID',
      `EMULATOR_MOCK_OAUTH_PORT=${ports.mockOauth} is the guest's ${taken} port (mock OAuth listens on the same port inside the guest)`,
      { hint: 'choose another EMULATOR_MOCK_OAUTH_PORT (default 26704)' },
    );
}
