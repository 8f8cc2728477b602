import { writeIso } from '@stack/iso9660';
import type { EmulatorConfig, Ports } from '../config/resolve-config.js';

/**
 * `runtime.env` of the config disk (guest contract). The guest reads it at boot, so for a snapshot
 * these values are baked into the RAM state and belong to its compatibility key; `vmDirHost` is
 * empty for snapshot boots (capture) for that reason. `ports`: the host ports it says (a snapshot of
 * an image that retargets holds the neutral ones, see port-retargeting.ts). @default config.ports
 */
export function runtimeEnv(
  config: EmulatorConfig,
  vmDirHost: string,
  ports: Readonly<Ports> = config.ports,
): Record<string, string> {
  return {
    STACK_EMULATOR_PORT_PREFIX: config.portPrefix,
    STACK_EMULATOR_DASHBOARD_HOST_PORT: String(ports.dashboard),
    STACK_EMULATOR_BACKEND_HOST_PORT: String(ports.backend),
    STACK_EMULATOR_MINIO_HOST_PORT: String(ports.minio),
    STACK_EMULATOR_INBUCKET_HOST_PORT: String(ports.inbucket),
    STACK_EMULATOR_MOCK_OAUTH_HOST_PORT: String(ports.mockOauth),
    STACK_EMULATOR_VM_DIR_HOST: vmDirHost,
  };
}

/** Writes the STACKCFG disk (ISO 9660 + Joliet): runtime.env from `values`, and base.env. Through a temp file and a rename. */
export async function writeConfigDisk(path: string, values: Record<string, string>, baseEnv: string): Promise<void> {
  const runtime = Object.entries(values)
    .map(([k, v]) => `${k}=${v}\n`)
    .join('');
  // Fixed date: the same values give the same bytes.
  await writeIso(
    [
      { type: 'file', path: 'runtime.env', data: runtime },
      { type: 'file', path: 'base.env', data: baseEnv },
    ],
    path,
    { volumeId: 'STACKCFG', date: new Date(0), fsync: false },
  );
}

/** Host forwards of the contract: four services on their guest ports, mock OAuth on the same port. */
export function portForwards(config: EmulatorConfig): Array<{ name: string; hostPort: number; guestPort: number }> {
  return [
    { name: 'dashboard', hostPort: config.ports.dashboard, guestPort: Number(`${config.portPrefix}01`) },
    { name: 'backend', hostPort: config.ports.backend, guestPort: Number(`${config.portPrefix}02`) },
    { name: 'minio', hostPort: config.ports.minio, guestPort: 9090 },
    { name: 'inbucket', hostPort: config.ports.inbucket, guestPort: 9001 },
    { name: 'mock-oauth', hostPort: config.ports.mockOauth, guestPort: config.ports.mockOauth },
  ];
}
