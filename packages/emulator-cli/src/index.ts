export { envSchema, parseEnv, type EmulatorEnv } from './config/env-schema.js';
