export { createProgram, emulatorCommands, registerCommands } from './program.js';
export { createReporter } from './ui/reporter.js';
export { EmulatorError, isEmulatorError, silentReporter, type EmulatorErrorCode, type Reporter } from '@stack/emulator';
