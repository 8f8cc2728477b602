import { EmulatorError } from '../errors.js';
import { missingForPull, planSetup, type SetupFacts } from './setup-plan.js';

/**
 * Before `pull` downloads several GB: the image cannot run here without QEMU and qemu-img, so stop
 * and name `stack-emulator setup` (which installs them) rather than fail at the capture afterwards.
 */
export function assertToolsForPull(facts: SetupFacts): void {
  const missing = missingForPull(planSetup(facts));
  if (missing.length === 0) return;
  const names = missing.map((m) => (m.tool === 'qemu-system' ? `QEMU (qemu-system for ${facts.arch})` : m.tool));
  throw new EmulatorError(
    'HOST_UNSUPPORTED',
    `${names.join(' and ')} ${missing.length === 1 ? 'is' : 'are'} not installed: the image could not run here, so nothing was downloaded`,
    { hint: 'run `stack-emulator setup` (it shows what is missing and installs it), then pull again' },
  );
}
