export { envSchema, parseEnv, type EmulatorEnv } from './config/env-schema.js';
export { resolveConfig, type EmulatorConfig, type StartFlags } from './config/resolve-config.js';
export { startEmulator, captureOnly, type StartResult } from './lifecycle/start.js';
export { stopEmulator, type StopResult } from './lifecycle/stop.js';
export { emulatorStatus, type StatusReport } from './lifecycle/status.js';
export { credentials, credentialEnv, type Credentials } from './lifecycle/credentials.js';
export { runBench, type Scenario, type ScenarioResult } from './lifecycle/bench.js';
export { EmulatorError, isEmulatorError, type EmulatorErrorCode } from './errors.js';
export { createReporter, silentReporter, type Reporter } from './ui/reporter.js';
