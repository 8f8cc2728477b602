import type { Op } from '../context/op.js';
import { DEFAULT_INSTANCE } from '../config/paths.js';
import { EmulatorError } from '../errors.js';
import { runningOthers } from './instances.js';

/** What a guest needs besides its RAM: QEMU itself, its page tables and the host's own slack. */
export const HEADROOM_MIB = 512;

/** The memory check's verdict: nothing to check, it fits, or it does not (with the figures). */
export type MemoryVerdict =
  | { kind: 'skip'; reason: string }
  | { kind: 'ok'; neededMiB: number; availableMiB: number }
  | { kind: 'short'; neededMiB: number; availableMiB: number };

/**
 * Whether a start of an instance with `guestMiB` of RAM fits: checked only when another instance of
 * the home runs (one instance alone starts as it always did), against the available memory (unknown:
 * not checked), needing the guest's RAM and {@link HEADROOM_MIB}.
 */
export function memoryVerdict(input: {
  guestMiB: number;
  othersRunning: number;
  availableMiB: number | undefined;
}): MemoryVerdict {
  if (input.othersRunning === 0) return { kind: 'skip', reason: 'no other instance runs' };
  if (input.availableMiB === undefined) return { kind: 'skip', reason: "the host's available memory is unknown" };
  const neededMiB = input.guestMiB + HEADROOM_MIB;
  return { kind: neededMiB > input.availableMiB ? 'short' : 'ok', neededMiB, availableMiB: input.availableMiB };
}

/**
 * Refuses with INSUFFICIENT_MEMORY (what is needed, what is free, what runs) when this start would
 * not fit beside the instances already running, unless `--force`. The available figure is the
 * host's, or STACK_EMULATOR_TEST_MEM_AVAILABLE_MIB in tests.
 */
export async function checkMemory(op: Op): Promise<void> {
  const { config, seams } = op;
  const others = await runningOthers(op);
  const verdict = memoryVerdict({
    guestMiB: config.memoryMiB,
    othersRunning: others.length,
    availableMiB:
      others.length === 0 ? undefined : (config.testMemAvailableMiB ?? seams.memory.availableMiB(config.host.platform)),
  });
  // Traced only when checked: a start of one instance alone traces what it always did.
  if (others.length > 0) op.trace.event('memoryCheck', { ...verdict, others });
  if (verdict.kind !== 'short') return;
  const who = config.instance === DEFAULT_INSTANCE ? 'the emulator' : `instance ${config.instance}`;
  const message =
    `${who} needs ${verdict.neededMiB} MiB (${config.memoryMiB} MiB guest RAM + ${HEADROOM_MIB} MiB headroom) ` +
    `and the host has ${verdict.availableMiB} MiB available, with ${others.length} other instance${others.length > 1 ? 's' : ''} running (${others.join(', ')})`;
  if (config.force) {
    op.reporter.warn(`${message}; starting anyway (--force)`);
    return;
  }
  throw new EmulatorError('INSUFFICIENT_MEMORY', message, {
    hint: 'stop an instance (`stack-emulator stop --instance <name>`), lower EMULATOR_RAM, or pass --force to start anyway',
  });
}
