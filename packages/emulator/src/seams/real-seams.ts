import { isProvenProcess, isSameProcess, processStartTime, sleep } from '@stack/internal';
import { qgaConnector } from '../guest/agent-connector.js';
import { fillsHolesOnRead, freeBytes } from '../host/free-space.js';
import { availableMemoryMiB, processMemoryOn, realMemoryReaders } from '../host/host-memory.js';
import { waitHealthy } from '../guest/health.js';
import { loopbackRequest } from '../guest/loopback-http.js';
import { qemuLauncher } from '../vm/qemu-launcher.js';
import type { Seams } from './seams.js';

/** The real world: QEMU, qemu-ga, HTTP on 127.0.0.1, the process table, the system clock. */
export const realSeams: Seams = {
  clock: { now: () => Date.now(), sleep: (ms, signal) => sleep(ms, signal) },
  vms: qemuLauncher,
  guests: qgaConnector,
  services: { waitHealthy, request: loopbackRequest },
  disk: { freeBytes, fillsHolesOnRead },
  memory: {
    availableMiB: (platform) => availableMemoryMiB(platform, realMemoryReaders),
    processMemory: (pid, platform) => processMemoryOn(pid, platform, realMemoryReaders),
  },
  processes: {
    self: process.pid,
    startTime: (pid) => processStartTime(pid),
    alive: (pid, start) => isSameProcess(pid, start),
    proven: (pid, start, needles) => isProvenProcess(pid, start, [...needles]),
    kill: (pid, signal) => {
      try {
        process.kill(pid, signal);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
      }
    },
  },
};
