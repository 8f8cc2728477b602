/**
 * Starts: the golden snapshot with and without rotation, a cold boot (all ephemeral), the saved
 * session. Stops: with a session save, and the ACPI power-down it replaces (ephemeral). Checkpoints:
 * a save (until the guest runs again), a restore (to all-healthy), and 20 restores in a row (a suite).
 * Instances: 1, 2 or 4 named instances started at once from one template (to all-healthy), with
 * their QEMUs' memory while all run.
 * Its own module so the command can list them without loading the lifecycle.
 */
export type Scenario =
  | 'resume-rotation'
  | 'resume'
  | 'cold'
  | 'session-resume'
  | 'stop-with-save'
  | 'stop-acpi'
  | 'checkpoint-save'
  | 'checkpoint-restore'
  | 'checkpoint-suite'
  | 'instances-1'
  | 'instances-2'
  | 'instances-4';
export const SCENARIOS: readonly Scenario[] = [
  'resume-rotation',
  'resume',
  'cold',
  'session-resume',
  'stop-with-save',
  'stop-acpi',
  'checkpoint-save',
  'checkpoint-restore',
  'checkpoint-suite',
  'instances-1',
  'instances-2',
  'instances-4',
];

export const isInstancesScenario = (s: Scenario) => s.startsWith('instances-');

/** How many instances an instances scenario starts at once. */
export const instanceCount = (s: Scenario) => Number(s.slice('instances-'.length));

/**
 * What `bench` runs when no scenario is named: all but the instances ones, which start several VMs
 * at once (their RAM each) and are asked for by name.
 */
export const DEFAULT_SCENARIOS: readonly Scenario[] = SCENARIOS.filter((s) => !isInstancesScenario(s));

/** Names `--scenarios` also takes, each standing for several scenarios. */
export const SCENARIO_GROUPS: Readonly<Record<string, readonly Scenario[]>> = {
  instances: ['instances-1', 'instances-2', 'instances-4'],
};

/**
 * The scenarios to run, in order: `instances-1` (one instance alone, the baseline of the others'
 * memory ratio) is added before the first instances scenario when another one is asked without it,
 * and runs before them when asked after.
 */
export function withAloneBaseline(scenarios: readonly Scenario[]): Scenario[] {
  const rest = scenarios.filter((s) => s !== 'instances-1');
  const at = rest.findIndex(isInstancesScenario);
  // No instances scenario, or instances-1 alone: nothing to add or move.
  if (at < 0) return [...scenarios];
  return [...rest.slice(0, at), 'instances-1', ...rest.slice(at)];
}
