import { EmulatorError } from '../errors.js';
import { RETARGET_HOOK } from '../image/port-retargeting.js';
import type { GuestAgent } from '../seams/guest.js';

/**
 * Hands the guest host ports through its retarget hook (guest contract, "Port retargeting"): the
 * KEY=VALUE lines on stdin; resolves once the hook exited 0, else GUEST_FAILED with what it said.
 */
export async function retargetGuest(
  agent: GuestAgent,
  values: Readonly<Record<string, string>>,
  options: { timeoutMs: number; signal?: AbortSignal; serialLog: string },
): Promise<void> {
  const r = await agent.run({
    path: RETARGET_HOOK,
    input: Object.entries(values)
      .map(([k, v]) => `${k}=${v}\n`)
      .join(''),
    timeout: options.timeoutMs,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (r.exitCode !== 0)
    throw new EmulatorError(
      'GUEST_FAILED',
      `${RETARGET_HOOK} failed (exit ${r.exitCode}): ${r.stderr.toString('utf8').trim() || '(no message)'}`,
      { hint: `guest console: ${options.serialLog}` },
    );
}
