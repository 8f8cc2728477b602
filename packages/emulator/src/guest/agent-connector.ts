import { QgaClient } from '@stack/qga-protocol';
import { EmulatorError } from '../errors.js';
import type { GuestConnector } from '../seams/guest.js';
import { consoleTail } from '../vm/logs-tail.js';
import { qgaAgent } from './qga-agent.js';

/**
 * The real connector: connects to the agent's socket and waits until it answers guest-sync. Each
 * attempt is short: an agent that is not up yet leaves the sync unanswered, and a fresh sync (new id)
 * is sent at once. Between attempts it asks `problem` (QEMU's run state, its exit), so a guest that
 * can never answer (paused on an I/O error, panicked, QEMU gone) fails at once with the reason
 * instead of looking like a slow boot.
 */
export const qgaConnector: GuestConnector = {
  async connect(socket, options) {
    const end = Date.now() + options.timeoutMs;
    const qga = await QgaClient.connect(socket, {
      timeout: Math.max(1000, options.timeoutMs),
      signal: options.signal,
      trace: options.trace.protocol('qga', socket),
    });
    let last: unknown;
    let problem: string | undefined;
    const ask = async () => {
      try {
        return await options.problem?.();
      } catch (e) {
        await qga.close().catch(() => {});
        throw e;
      }
    };
    while (Date.now() < end) {
      options.signal?.throwIfAborted();
      problem = await ask();
      if (problem) break;
      try {
        await qga.sync({ timeout: 1000, signal: options.signal });
        return qgaAgent(qga);
      } catch (e) {
        last = e;
        if (options.signal?.aborted || qga.closed) break;
      }
    }
    if (!options.signal?.aborted) problem ??= await ask();
    await qga.close().catch(() => {});
    if (options.signal?.aborted) throw new EmulatorError('INTERRUPTED', 'interrupted');
    // The guest console is the only view of a boot that never reached the agent.
    const console = options.serialLog ? consoleTail(options.serialLog) : '';
    const quoted = console ? `; last guest console lines:\n${console}` : '';
    const hint = options.serialLog ? { hint: `full guest console: ${options.serialLog}` } : {};
    if (problem)
      throw new EmulatorError('GUEST_FAILED', `the guest agent cannot answer: ${problem}${quoted}`, {
        cause: last,
        ...hint,
      });
    throw new EmulatorError(
      'GUEST_FAILED',
      `the guest agent did not answer guest-sync within ${options.timeoutMs / 1000} s${last ? ` (${(last as Error).message})` : ''}${quoted}`,
      { cause: last, transient: true, ...hint },
    );
  },
};
