import type { Arch } from '@stack/internal';
import type { EmulatorConfig } from '../config/resolve-config.js';
import { runSetup, type SetupIo, type SetupOutcome } from '../setup/setup-flow.js';
import { type ProbeDeps, probeSetupFacts, realProbeDeps } from '../setup/setup-probe.js';
import { checkOptions, type CommonOptions, openOp } from './options.js';

export interface SetupOptions extends CommonOptions {
  /** The guest architecture to set up for. @default `EMULATOR_ARCH`, else the host's */
  arch?: Arch;
  /** Ask (at a terminal) and run the install commands; false only reports. @default true */
  install?: boolean;
  /** The terminal: questions, the commands' runner, the report's lines. */
  io: SetupIo;
}

/** The real host, as the configuration has it (its environment's PATH, its platform). */
export const realSetupProbe = (config: EmulatorConfig): ProbeDeps => realProbeDeps(config.env, config.host.platform);

/**
 * The host tools the emulator needs (QEMU for the guest's architecture, qemu-img, firmware, zstd,
 * socat): what is missing, the commands that install it (Homebrew; apt-get, with sudo when not
 * root), and at a terminal, with consent, their run. `probe` is for tests.
 */
export async function setup(
  options: SetupOptions,
  probe: (config: EmulatorConfig) => ProbeDeps = realSetupProbe,
): Promise<SetupOutcome> {
  const { io, install, ...common } = options;
  const { config } = openOp(checkOptions(common));
  return runSetup(() => probeSetupFacts(config.arch, probe(config)), io, { install: install !== false });
}
