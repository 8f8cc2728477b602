import type { Timings } from './state.js';

const s = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(2)}s`);

/** The steps of a start, in the order they happen (a step the start skipped is left out). */
const START_STEPS = [
  'imageReady',
  'probed',
  'prepared',
  'captured',
  'qemuLaunched',
  'loading',
  'loaded',
  'running',
  'agentReady',
  'clockSet',
  'shareMounted',
  'rotated',
  'healthy',
];

/** The steps of a stop, in the order they happen. */
const STOP_STEPS = ['sharesUnmounted', 'ramSaved', 'qemuExited', 'committed', 'stopped'];

const inOrder = (t: Timings, steps: readonly string[]) =>
  steps
    .filter((k) => t[k] !== undefined)
    .map((k) => `${k} ${s(t[k])}`)
    .join(' → ');

/** "launch 0.05s → running 0.31s → agent 0.40s → rotated 0.62s → healthy 0.70s" */
export function formatTimings(t: Timings): string {
  return inOrder(t, START_STEPS);
}

/** "sharesUnmounted 0.10s → ramSaved 0.35s → qemuExited 0.40s → committed 0.42s → stopped 0.43s" */
export function formatStopTimings(t: Timings): string {
  return inOrder(t, STOP_STEPS);
}
