import type { EmulatorConfig } from '../config/resolve-config.js';
import type { Op } from '../context/op.js';
import { startEmulator } from '../boot/start.js';
import { restoreCheckpoint } from '../checkpoint/restore.js';
import { saveCheckpoint } from '../checkpoint/save.js';
import { removeCheckpoint } from '../checkpoint/manage.js';
import { execInGuest } from '../guest/guest-command.js';
import type { Timings } from '../instance/state.js';
import { stopEmulator } from '../instance/stop.js';
import { silentReporter } from '../report/reporter.js';
import type { Scenario } from './bench-scenarios.js';

/** The measured runs of a scenario: each figure (ms) with its split, and how the instance ran. */
export interface CheckpointRuns {
  ms: number[];
  splits: Timings[];
  accel: string;
  boot: string;
  format: string | undefined;
}

const NAME = 'bench';
/** Restores in a row of the `checkpoint-suite` scenario (a test suite's files), a write between each. */
const SUITE_RESTORES = 20;

export const isCheckpointScenario = (s: Scenario) => s.startsWith('checkpoint-');

/**
 * The checkpoint scenarios on the saved session: `checkpoint-save` (ms until the guest runs again,
 * with the whole save in the split), `checkpoint-restore` (from the call to all-healthy, whether it
 * ran or not), `checkpoint-suite` ({@link SUITE_RESTORES} restores, a guest write between each; one
 * figure per restore). The instance is started first and stopped after; the checkpoint removed.
 */
export async function runCheckpointScenario(
  op: Op,
  scenario: Scenario,
  runs: number,
  onRun: (i: number, ms: number) => void,
): Promise<CheckpointRuns> {
  const config: EmulatorConfig = Object.freeze({ ...op.config, snapshot: true, ephemeral: false, forceCapture: false });
  const c: Op = { ...op, config, reporter: silentReporter };
  let { state } = await startEmulator(c);
  const out: CheckpointRuns = {
    ms: [],
    splits: [],
    accel: state.accel,
    boot: state.boot ?? 'firmware',
    format: state.snapshotFormat,
  };
  try {
    await saveCheckpoint(c, NAME, { force: true });
    const count = scenario === 'checkpoint-suite' ? SUITE_RESTORES : runs;
    for (let i = 0; i < count; i++) {
      if (scenario === 'checkpoint-save') {
        const r = await saveCheckpoint(c, NAME, { force: true });
        out.ms.push(r.timings.running!);
        out.splits.push(r.timings);
      } else {
        if (scenario === 'checkpoint-suite')
          await execInGuest(c, { argv: ['sh', '-c', `echo ${i} > /var/tmp/bench-write && sync`], timeoutMs: 30_000 });
        ({ state } = await restoreCheckpoint(c, NAME));
        if (state.mode !== 'session') throw new Error(`bench ${scenario}: the restore ran ${state.mode}`);
        out.ms.push(state.timings.healthy!);
        out.splits.push(state.timings);
      }
      onRun(i, out.ms.at(-1)!);
    }
  } finally {
    await stopEmulator(c, { timeoutMs: 0 }).catch(() => {});
    await removeCheckpoint(c, NAME).catch(() => {});
  }
  return out;
}
