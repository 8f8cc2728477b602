import { existsSync, mkdirSync } from 'node:fs';
import { EmulatorError } from '../errors.js';
import { SHARE_SLOTS } from '../vm/vm-spec.js';

/**
 * The share slots of a resumed session: those it had, in their slots (an empty stand-in for a
 * directory that is gone), then this start's new ones.
 */
export function sharesAfter(plugged: readonly string[], wanted: readonly string[], emptyShare: string): string[] {
  const slots = plugged.map((d) => (existsSync(d) ? d : emptyShare));
  if (slots.includes(emptyShare)) mkdirSync(emptyShare, { recursive: true, mode: 0o700 });
  for (const d of wanted) if (!slots.includes(d)) slots.push(d);
  if (slots.length > SHARE_SLOTS) {
    throw new EmulatorError(
      'HOST_SHARE_FAILED',
      `the saved session already shares ${plugged.length} directories (${plugged.join(', ')}); a VM has ${SHARE_SLOTS} share slots`,
      { hint: 'stop and start with --no-snapshot, or `stack-emulator reset`, to free the slots' },
    );
  }
  return slots;
}
