/**
 * Serial-console markers of a booting appliance (guest contract, "Boot"). A healthy boot prints
 * nothing else (`quiet loglevel=3`, no getty), so without them a silent console cannot tell a hung
 * guest from a slow one. Images built by `@stack/emulator-image` print each line once per boot, as
 * the stage begins; older images print none, and callers keep their old behaviour for them.
 */
export const BOOT_STAGES = ['initramfs', 'userspace', 'agent'] as const;

/** `initramfs`: the kernel ran our /init. `userspace`: systemd started. `agent`: qemu-ga is starting on its port. */
export type BootStage = (typeof BOOT_STAGES)[number];

/** The prefix of every stage line: `STACK_BOOT_STAGE <stage>`. */
export const BOOT_STAGE_PREFIX = 'STACK_BOOT_STAGE';

/** The line the initramfs prints when it cannot boot (then powers off): `STACK_BOOT_FAILED <reason>`. */
export const BOOT_FAILED_PREFIX = 'STACK_BOOT_FAILED';

/** The exact line of each stage, as the guest prints it (without the newline). */
export const BOOT_MARKERS: Readonly<Record<BootStage, string>> = Object.freeze({
  initramfs: `${BOOT_STAGE_PREFIX} initramfs`,
  userspace: `${BOOT_STAGE_PREFIX} userspace`,
  agent: `${BOOT_STAGE_PREFIX} agent`,
});

export interface BootProgress {
  /** The last stage the console showed; undefined when it showed none (an image without markers, or too early). */
  stage?: BootStage;
  /** The reason of a `STACK_BOOT_FAILED` line, when no later boot began after it. */
  failure?: string;
}

// A marker counts anywhere on a line: the kernel or firmware may have printed on the same line first.
// Stage names are whole words; a failure line only once complete (its reason may still be arriving).
const MARKER = new RegExp(
  `${BOOT_STAGE_PREFIX} (${BOOT_STAGES.join('|')})(?![\\w-])|${BOOT_FAILED_PREFIX}\\b(.*)\\n`,
  'g',
);

/**
 * The boot progress a serial console shows, from its text (the whole log or a tail that still holds
 * the last marker): pure, so a caller can decide "this guest is alive and booting" (a stage seen)
 * or "it failed, here is why" without waiting for QEMU to exit. Carriage returns and terminal escapes
 * are ignored; a later `initramfs` stage (a reboot) clears an earlier failure.
 */
export function bootProgress(consoleText: string): BootProgress {
  const text = consoleText.replace(/\r/g, '').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
  const progress: BootProgress = {};
  for (const m of text.matchAll(MARKER)) {
    if (m[1] !== undefined) {
      progress.stage = m[1] as BootStage;
      if (progress.stage === 'initramfs') delete progress.failure;
    } else {
      progress.failure = m[2]!.replace(/^[:\s]+/, '').trim();
    }
  }
  return progress;
}

/** The last boot stage the console shows, or undefined (see {@link bootProgress}). */
export function bootStage(consoleText: string): BootStage | undefined {
  return bootProgress(consoleText).stage;
}
