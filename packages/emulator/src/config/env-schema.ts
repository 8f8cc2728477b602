import { z } from 'zod';

// Environment variables of the tool we replace keep their names. Empty means "unset", as in its shell
// script (its CLI and script disagreed on an empty PORT_PREFIX; we follow the script).
const emptyAsUnset = (v: unknown) => (v === '' ? undefined : v);

const port = (name: string, fallback: number) =>
  z.preprocess(
    emptyAsUnset,
    z
      .string()
      .optional()
      .transform((raw, ctx) => {
        if (raw === undefined) return fallback;
        const n = Number(raw);
        if (!/^\d+$/.test(raw) || n < 1 || n > 65535) {
          ctx.addIssue({
            code: 'custom',
            message: `${name}="${raw}" is not a TCP port; use an integer from 1 to 65535`,
          });
          return z.NEVER;
        }
        return n;
      }),
  );

const flag = (name: string) =>
  z.preprocess(
    emptyAsUnset,
    z
      .string()
      .optional()
      .transform((raw, ctx) => {
        if (raw === undefined || raw === '0' || raw === 'false') return false;
        if (raw === '1' || raw === 'true') return true;
        ctx.addIssue({ code: 'custom', message: `${name}="${raw}" must be 1 or 0` });
        return z.NEVER;
      }),
  );

const positiveInt = <F extends number | undefined>(name: string, fallback: F, min: number, max: number, unit = '') =>
  z.preprocess(
    emptyAsUnset,
    z
      .string()
      .optional()
      .transform((raw, ctx) => {
        if (raw === undefined) return fallback as number | F;
        if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
          ctx.addIssue({ code: 'custom', message: `${name}="${raw}" must be an integer from ${min} to ${max}${unit}` });
          return z.NEVER;
        }
        return Number(raw);
      }),
  );

/**
 * Seconds a wait may last: Node's timers hold at most 2^31-1 ms (a longer one fires at once: a
 * 2147484 s EMULATOR_READY_TIMEOUT timed the agent out after 1 ms); a day is plenty.
 */
const MAX_WAIT_S = 86_400;
/** What q35 and virt machines take (and more than any host here has cores). */
const MAX_CPUS = 255;
/** 1 TiB: beyond any host this runs on; the host's own memory is checked in resolve-config. */
const MAX_RAM_MIB = 1_048_576;

/** Every environment variable the CLI reads, validated once. */
const envSchema = z.object({
  STACK_EMULATOR_HOME: z.preprocess(
    emptyAsUnset,
    z
      .string()
      .startsWith(
        '/',
        'STACK_EMULATOR_HOME must be an absolute path (a relative one would move with the current directory)',
      )
      .optional(),
  ),
  /**
   * GitHub API base URL (GitHub Enterprise, or a local server in tests). The token goes with every
   * request: plain http only to this machine's loopback, never over a network.
   */
  STACK_EMULATOR_GITHUB_API: z.preprocess(
    emptyAsUnset,
    z
      .url({ protocol: /^https?$/, message: 'STACK_EMULATOR_GITHUB_API must be an http(s) URL' })
      .refine((u) => !u.startsWith('http:') || /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(\/|$)/.test(u), {
        message:
          'STACK_EMULATOR_GITHUB_API must use https:// (the GitHub token is sent with every request; plain http only to 127.0.0.1, localhost or [::1])',
      })
      .optional(),
  ),
  /** Which instance of the home a command works on (see --instance). @default default */
  STACK_EMULATOR_INSTANCE: z.preprocess(emptyAsUnset, z.string().optional()),
  /**
   * Tests only: the host's available memory in MiB as the memory check before a start sees it, so an
   * end-to-end test can make it refuse without exhausting the host. @default the host's own figure
   */
  STACK_EMULATOR_TEST_MEM_AVAILABLE_MIB: positiveInt(
    'STACK_EMULATOR_TEST_MEM_AVAILABLE_MIB',
    undefined,
    0,
    MAX_RAM_MIB,
    ' (MiB)',
  ),
  PORT_PREFIX: z.preprocess(
    emptyAsUnset,
    z
      .string()
      .regex(/^[1-9]\d?$/, 'PORT_PREFIX must be one or two digits (guest ports are <prefix>01, <prefix>02)')
      .optional(),
  ),
  EMULATOR_DASHBOARD_PORT: port('EMULATOR_DASHBOARD_PORT', 26700),
  EMULATOR_BACKEND_PORT: port('EMULATOR_BACKEND_PORT', 26701),
  EMULATOR_MINIO_PORT: port('EMULATOR_MINIO_PORT', 26702),
  EMULATOR_INBUCKET_PORT: port('EMULATOR_INBUCKET_PORT', 26703),
  EMULATOR_MOCK_OAUTH_PORT: port('EMULATOR_MOCK_OAUTH_PORT', 26704),
  EMULATOR_RAM: positiveInt('EMULATOR_RAM', undefined, 512, MAX_RAM_MIB, ' (MiB)'),
  /** Unset: 4, or under TCG the host's core count up to 4 (see resolve-config). */
  EMULATOR_CPUS: positiveInt('EMULATOR_CPUS', undefined, 1, MAX_CPUS),
  /** The original's names for the snapshot VM's size: the same VM here, so aliases of the two above. */
  EMULATOR_SNAPSHOT_RAM: positiveInt('EMULATOR_SNAPSHOT_RAM', undefined, 512, MAX_RAM_MIB, ' (MiB)'),
  EMULATOR_SNAPSHOT_CPUS: positiveInt('EMULATOR_SNAPSHOT_CPUS', undefined, 1, MAX_CPUS),
  /** A base.env for the config disk (the Stack image's base environment); see image/base-env.ts. */
  EMULATOR_BASE_ENV: z.preprocess(emptyAsUnset, z.string().optional()),
  /** More directories to share read-write, separated like PATH (see host/wide-shares.ts). */
  EMULATOR_SHARES: z.preprocess(emptyAsUnset, z.string().optional()),
  EMULATOR_ARCH: z.preprocess(
    emptyAsUnset,
    z.enum(['amd64', 'arm64'], { message: 'EMULATOR_ARCH must be amd64 or arm64' }).optional(),
  ),
  EMULATOR_ACCEL: z.preprocess(
    emptyAsUnset,
    z.enum(['kvm', 'hvf', 'tcg'], { message: 'EMULATOR_ACCEL must be kvm, hvf or tcg' }).optional(),
  ),
  /**
   * How snapshots keep guest RAM: `auto` (the fastest this QEMU offers), `template-ram`, `mapped-ram`
   * or `stream`. A format this QEMU lacks means no snapshot (cold boots), with the reason printed.
   */
  EMULATOR_SNAPSHOT_FORMAT: z.preprocess(
    emptyAsUnset,
    z
      .enum(['auto', 'template-ram', 'mapped-ram', 'stream'], {
        message: 'EMULATOR_SNAPSHOT_FORMAT must be auto, template-ram, mapped-ram or stream',
      })
      .default('auto'),
  ),
  /**
   * What the guest may reach: `isolated` (only what the host forwards to it; the contract's services
   * need nothing else) or `outbound` (the internet, for a backend that must reach real OAuth providers
   * or SMTP; this also opens every service on the host's loopback to the guest, through 10.0.2.2).
   */
  EMULATOR_GUEST_NETWORK: z.preprocess(
    emptyAsUnset,
    z
      .enum(['isolated', 'outbound'], { message: 'EMULATOR_GUEST_NETWORK must be isolated or outbound' })
      .default('isolated'),
  ),
  EMULATOR_NO_SNAPSHOT: flag('EMULATOR_NO_SNAPSHOT'),
  EMULATOR_NO_ROTATION: flag('EMULATOR_NO_ROTATION'),
  /** No saved session: every start from the golden snapshot, nothing kept at stop (CI). */
  EMULATOR_EPHEMERAL: flag('EMULATOR_EPHEMERAL'),
  EMULATOR_FORCE_CAPTURE: flag('EMULATOR_FORCE_CAPTURE'),
  EMULATOR_READY_TIMEOUT: positiveInt('EMULATOR_READY_TIMEOUT', 240, 1, MAX_WAIT_S, ' (seconds)'),
  EMULATOR_SNAPSHOT_READY_TIMEOUT: positiveInt('EMULATOR_SNAPSHOT_READY_TIMEOUT', 45, 1, MAX_WAIT_S, ' (seconds)'),
  /** Seconds `stop` waits for the guest's ACPI power-down before it makes QEMU quit. */
  EMULATOR_STOP_TIMEOUT: positiveInt('EMULATOR_STOP_TIMEOUT', 30, 1, MAX_WAIT_S, ' (seconds)'),
});

export type EmulatorEnv = z.infer<typeof envSchema>;

/** Parses the environment, throwing one error that lists every bad variable and how to fix it. */
export function parseEnv(env: NodeJS.ProcessEnv): EmulatorEnv {
  // The original falls back to NEXT_PUBLIC_HEXCLAVE_PORT_PREFIX (its rebrand's name), then to
  // NEXT_PUBLIC_STACK_PORT_PREFIX, when PORT_PREFIX is unset.
  const fallback = env.NEXT_PUBLIC_HEXCLAVE_PORT_PREFIX || env.NEXT_PUBLIC_STACK_PORT_PREFIX;
  const withPrefix = env.PORT_PREFIX || !fallback ? env : { ...env, PORT_PREFIX: fallback };
  const r = envSchema.safeParse(withPrefix);
  if (r.success) return r.data;
  throw new Error(r.error.issues.map((i) => i.message).join('\n'));
}
