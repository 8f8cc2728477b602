import type { Op } from '../context/op.js';
import type { InstanceState } from './state.js';

/**
 * Unmounts the running guest's shares before its state is saved: QEMU refuses to migrate while a 9p
 * export is mounted. Returns what keeps one busy, or undefined when all are unmounted (or none).
 */
export async function unmountShares(op: Op, state: InstanceState): Promise<string | undefined> {
  if (!state.shares?.length) return undefined;
  const agent = await op.seams.guests.connect(op.config.paths.agentSocket, {
    timeoutMs: 10_000,
    signal: op.signal,
    trace: op.trace,
  });
  try {
    const busy = await agent.unmountShares({ signal: op.signal });
    return busy ? `a shared directory is still in use in the guest: ${busy}` : undefined;
  } finally {
    await agent.close().catch(() => {});
  }
}

/** Mounts the shares again in a guest that runs on after its state was saved (or the save was cancelled). */
export async function remountShares(op: Op, state: InstanceState): Promise<void> {
  const shares = (state.shares ?? [])
    .map((dir, slot) => ({ slot, dir, readonly: (state.readonlyShares ?? []).includes(dir) }))
    .filter((s) => s.dir !== op.config.paths.emptyShare);
  if (shares.length === 0) return;
  const agent = await op.seams.guests.connect(op.config.paths.agentSocket, { timeoutMs: 10_000, trace: op.trace });
  try {
    await agent.mountShares(shares);
  } finally {
    await agent.close().catch(() => {});
  }
}
