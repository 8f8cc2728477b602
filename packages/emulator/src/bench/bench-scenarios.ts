/**
 * Starts: the golden snapshot with and without rotation, a cold boot (all ephemeral), the saved
 * session. Stops: with a session save, and the ACPI power-down it replaces (ephemeral). Checkpoints:
 * a save (until the guest runs again), a restore (to all-healthy), and 20 restores in a row (a suite).
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
  | 'checkpoint-suite';
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
];
