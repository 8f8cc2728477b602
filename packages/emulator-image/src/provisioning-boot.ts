import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { runProcess } from '@stack/internal';
import { BuildError } from './errors.js';
import { MarkerScanner } from './markers.js';

/** Follows a growing file, feeding new text to `onText` until `stop` is called. */
function follow(path: string, onText: (t: string) => void): () => void {
  let pos = 0;
  const buf = Buffer.alloc(1 << 16);
  const tick = () => {
    if (!existsSync(path)) return;
    const fd = openSync(path, 'r');
    try {
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, pos);
        if (n <= 0) break;
        pos += n;
        onText(buf.subarray(0, n).toString('utf8'));
      }
    } finally {
      closeSync(fd);
    }
  };
  const timer = setInterval(tick, 200);
  return () => {
    clearInterval(timer);
    tick();
  };
}

export interface ProvisioningBootOptions {
  binary: string;
  argv: string[];
  /** The serial console log QEMU writes (`serialLog` of the argv). */
  serial: string;
  /** Limit for provisioning (boot to STACK_CLOUD_INIT_DONE). @default 900000 (15 min) */
  timeoutMs?: number;
  /** Guest console lines as they arrive. */
  onConsole?: (line: string) => void;
  /** Phase changes, for progress output. */
  onPhase?: (phase: string) => void;
}

/**
 * Runs the provisioning boot: starts QEMU, follows the console until the guest reports
 * STACK_CLOUD_INIT_DONE, then waits (up to 2 min) for it to power itself off. The guest's
 * STACK_CLOUD_INIT_FAILED, an early QEMU exit or the time limit stop it at once with the last console
 * lines (IMAGE_PROVISION_FAILED, IMAGE_PROVISION_TIMEOUT). QEMU never outlives the call.
 */
export async function runProvisioningBoot(options: ProvisioningBootOptions): Promise<void> {
  const scanner = new MarkerScanner(50);
  let stderr = '';
  // Kills QEMU (SIGKILL) if it still runs when the build gives up on it or ends.
  const stopQemu = new AbortController();
  try {
    // Settles when QEMU ends (the guest powered off, or it died), with how; it never rejects.
    const ended = runProcess(options.binary, options.argv, {
      signal: stopQemu.signal,
      killSignal: 'SIGKILL',
      stdout: 'ignore',
      reject: false,
      onStderr: (d) => (stderr += d),
    }).then(
      (r) => String(r.signal ?? r.exitCode),
      (e: Error) => e.message,
    );
    await new Promise<void>((resolvePromise, reject) => {
      const fail = (code: BuildError['code'], why: string) => {
        stop();
        clearTimeout(timer);
        stopQemu.abort();
        reject(
          new BuildError(
            code,
            `${why}\n--- last lines of the guest console ---\n${scanner.tail().join('\n')}${stderr ? `\n--- qemu ---\n${stderr.trim()}` : ''}`,
          ),
        );
      };
      const stop = follow(options.serial, (text) => {
        for (const ev of scanner.push(text)) {
          if (ev.type === 'line') options.onConsole?.(ev.text);
          else if (ev.type === 'failed')
            return fail(
              'IMAGE_PROVISION_FAILED',
              `provisioning failed in the guest: ${ev.detail || 'STACK_CLOUD_INIT_FAILED'}`,
            );
          else if (ev.type === 'done') {
            stop();
            clearTimeout(timer);
            return resolvePromise();
          }
        }
      });
      const limit = options.timeoutMs ?? 900_000;
      const timer = setTimeout(
        () =>
          fail(
            'IMAGE_PROVISION_TIMEOUT',
            `provisioning did not finish within ${Math.round(limit / 1000)} s (no STACK_CLOUD_INIT_DONE on the console)`,
          ),
        limit,
      );
      // After STACK_CLOUD_INIT_DONE this comes when the guest powered off: the promise is settled, a no-op.
      void ended.then((how) =>
        fail('IMAGE_PROVISION_FAILED', `QEMU exited (${how}) before the guest reported STACK_CLOUD_INIT_DONE`),
      );
    });
    options.onPhase?.('waiting for the guest to power off');
    const powerOffLimit = setTimeout(() => stopQemu.abort(), 120_000);
    await ended;
    clearTimeout(powerOffLimit);
  } finally {
    stopQemu.abort();
  }
}
