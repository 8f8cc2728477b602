import type { CallOptions } from '@stack/internal';
import { z } from 'zod';
import type { QgaClient } from './client.js';
import { QgaInvalidReplyError } from './errors.js';

/** `guest-ping`: resolves when the agent answers. */
export async function ping(qga: QgaClient, options: CallOptions = {}): Promise<void> {
  await qga.execute('guest-ping', undefined, options);
}

const infoSchema = z
  .object({
    version: z.string(),
    supported_commands: z.array(z.object({ name: z.string(), enabled: z.boolean() }).loose()),
  })
  .loose();

/** `guest-info`: agent version and which commands are enabled. */
export async function info(
  qga: QgaClient,
  options: CallOptions = {},
): Promise<{ version: string; commands: Map<string, boolean> }> {
  const r = infoSchema.safeParse(await qga.execute('guest-info', undefined, options));
  if (!r.success) throw new QgaInvalidReplyError('guest-info', { cause: r.error });
  return { version: r.data.version, commands: new Map(r.data.supported_commands.map((c) => [c.name, c.enabled])) };
}

/**
 * `guest-set-time`: sets the guest clock, e.g. after a resume (a resumed guest's clock lags by the
 * time it spent in the snapshot). The value is nanoseconds since the epoch, which exceeds 2^53, so
 * it is sent as an exact integer.
 */
export async function setTime(qga: QgaClient, time: Date = new Date(), options: CallOptions = {}): Promise<void> {
  await qga.execute('guest-set-time', { time: BigInt(time.getTime()) * 1_000_000n }, options);
}

/** `guest-get-time`: the guest clock in nanoseconds since the epoch. */
export async function getTime(qga: QgaClient, options: CallOptions = {}): Promise<bigint> {
  // JSON numbers lose precision above 2^53; millisecond precision is what we need.
  const ns = await qga.execute<number>('guest-get-time', undefined, options);
  return BigInt(Math.round(ns / 1e6)) * 1_000_000n;
}
