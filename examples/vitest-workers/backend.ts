import { beforeAll } from 'vitest';
import { checkpoint, workerInstance } from '@stack/emulator';
import { IMAGE } from './data.js';

// Before each test file: this worker's own backend (instance worker-<n>, its own ports), back at
// the seeded checkpoint, and its URL and keys in process.env for the code under test.
beforeAll(async () => {
  const backend = await checkpoint.restore('seeded', { instance: workerInstance(), ports: 'auto', image: IMAGE });
  Object.assign(process.env, await backend.env());
});
