import type { BootEnv } from '../boot/boot-env.js';
import { EmulatorError } from '../errors.js';
import { rememberPortVerdict, RETARGET_HOOK, RETARGETS_PORTS_MARKER } from '../image/port-retargeting.js';
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
      // Transient: a hook that restarts services may fail once on a loaded host; one failure must not
      // quarantine the template every instance shares (a second one in a row does).
      { hint: `guest console: ${options.serialLog}`, transient: true },
    );
}

/**
 * Learns whether the guest's image retargets its ports when the home does not know yet (a home whose
 * snapshots predate the marker: no capture asks again): one agent call, once per image. This start
 * keeps its own keys; the next ones follow the verdict (a retargeting image then captures the shared
 * snapshot once).
 */
export async function learnPortVerdict(env: BootEnv, agent: GuestAgent): Promise<void> {
  if (env.portVerdict !== undefined) return;
  const { config, signal } = env.op;
  const retargets = await agent.hasFile(RETARGETS_PORTS_MARKER, signal ? { signal } : {});
  await rememberPortVerdict(config, env.image.digest, retargets);
}
