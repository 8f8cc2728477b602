import type { GuestConnector } from './guest.js';
import type { Clock, DiskSpace, MemoryInfo, Processes, Services } from './host.js';
import type { VmLauncher } from './vm.js';

/**
 * Everything the runtime does to the world outside its own files goes through these: QEMU (launched,
 * or a running one's monitor), the guest agent, the guest's forwarded services, other processes and
 * the clock. The real ones are {@link realSeams}; unit tests pass fakes and run every decision and
 * fallback in milliseconds, without a VM.
 */
export interface Seams {
  clock: Clock;
  vms: VmLauncher;
  guests: GuestConnector;
  services: Services;
  processes: Processes;
  disk: DiskSpace;
  memory: MemoryInfo;
}
