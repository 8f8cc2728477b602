import { rm } from 'node:fs/promises';
import { readJsonFile, writeFileAtomic } from '@stack/internal';
import { compatibilityKeySchema } from '@stack/snapshot-cache';
import { z } from 'zod';

/** `resumed`: a golden snapshot; `session`: the saved session; `cold`: a boot (fresh disk or the session's). */
export type StartMode = 'resumed' | 'session' | 'cold';

const qemuVersionSchema = z.object({ major: z.number(), minor: z.number(), micro: z.number() });
const formatSchema = z.enum(['mapped-ram', 'stream', 'template-ram']);

/**
 * What `stop` keeps: the session (its disk; and its RAM state when `save` says how), or nothing
 * (`ephemeral`: the disk is run/vm's, thrown away at the next start).
 */
const persistenceSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('session'),
    save: z
      .object({ key: compatibilityKeySchema, format: formatSchema, cpus: z.number(), qemuVersion: qemuVersionSchema })
      .optional(),
  }),
  z.object({ kind: z.literal('ephemeral') }),
]);
export type Persistence = z.infer<typeof persistenceSchema>;

const portsSchema = z.object({
  dashboard: z.number(),
  backend: z.number(),
  minio: z.number(),
  inbucket: z.number(),
  mockOauth: z.number(),
});

/** `run/state.json`: what `status`, `stop`, `run` and `env` need to find the running instance. */
const stateSchema = z
  .object({
    version: z.literal(1),
    pid: z.number().int(),
    /** The process's start time, so a reused pid is not mistaken for our QEMU. */
    pidStartTime: z.string().optional(),
    /**
     * `starting`: QEMU runs and its start is not finished (recorded the moment QEMU exists, so a
     * killed start leaves a QEMU that stop and the next start know); `capturing`: the QEMU of a
     * snapshot capture; `running` (or absent, in files of earlier versions): started and healthy.
     */
    phase: z.enum(['starting', 'capturing', 'running']).optional(),
    /** The command that is starting it, while `phase` is not `running` (its death makes the VM an orphan). */
    starter: z.object({ pid: z.number().int(), startTime: z.string().optional() }).optional(),
    arch: z.enum(['amd64', 'arm64']),
    accel: z.enum(['kvm', 'hvf', 'tcg']),
    accelReason: z.string(),
    /** Its kernel directly, UEFI firmware (OVMF, AAVMF), or the BIOS (SeaBIOS) booting the disk's boot code. */
    boot: z.enum(['direct-kernel', 'firmware', 'bios']).optional(),
    mode: z.enum(['resumed', 'session', 'cold']),
    /** QEMU's version, e.g. "10.0.2". */
    qemuVersion: z.string().optional(),
    /** How the resumed snapshot's RAM is stored (resumed mode only). */
    snapshotFormat: formatSchema.optional(),
    /** Why this start did not resume a snapshot (cold mode only). */
    coldReason: z.string().optional(),
    snapshotId: z.string().optional(),
    image: z.string(),
    ports: portsSchema,
    /** How the ports were chosen at start (`--ports`); absent in state files of versions before instances. */
    portsMode: z.enum(['fixed', 'auto']).optional(),
    portPrefix: z.string(),
    /** Host directories shared with the guest, one per slot (mounted at /host<dir>). */
    shares: z.array(z.string()).optional(),
    /** Written by versions before shares: the one shared directory. */
    hostShare: z.string().optional(),
    /** Those of `shares` the guest mounts read-only (`--share-readonly`). */
    readonlyShares: z.array(z.string()).optional(),
    configFile: z.string().optional(),
    /** True when this start gave the instance fresh secrets (`secrets === 'fresh'`). */
    rotated: z.boolean(),
    /** Fresh secrets, the public placeholders (rotation off), or the secrets the disk already had. */
    secrets: z.enum(['fresh', 'placeholders', 'kept']).optional(),
    startedAt: z.string(),
    /** Milliseconds from the start command to each step. */
    timings: z.record(z.string(), z.number()),
    /** Absent in state files of versions before sessions: ephemeral. */
    persistence: persistenceSchema.optional(),
  })
  .loose();

export type InstanceState = z.infer<typeof stateSchema>;

/** Milliseconds from the start command to each step. */
export type Timings = InstanceState['timings'];

/**
 * The state file, when there is a valid one. A file that is not one (torn, or of an unknown format)
 * is as good as none: nothing it names is touched (a pid is only signalled once proven ours).
 */
export async function readState(path: string): Promise<InstanceState | undefined> {
  const r = await readJsonFile(path, stateSchema);
  return r.kind === 'ok' ? r.value : undefined;
}

export async function writeState(path: string, state: InstanceState): Promise<void> {
  // Rewritten at every start, and moot after a crash of the host (no VM runs then): no fsync
  // (see AtomicWriteOptions). A crash of this process is covered: the rename is atomic.
  await writeFileAtomic(path, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600, fsync: false });
}

export async function clearState(path: string): Promise<void> {
  await rm(path, { force: true });
}
