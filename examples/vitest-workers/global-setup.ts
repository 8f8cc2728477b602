import { checkpoint, start, stopAll } from '@stack/emulator';
import { IMAGE, putData } from './data.js';

// Once per run: a backend seeded through its API, kept as the checkpoint `seeded`.
export async function setup() {
  const seed = await start({ instance: 'seed', ports: 'auto', image: IMAGE });
  const env = await seed.env();
  await putData(env, 'seeded', 'yes');
  await checkpoint.save('seeded', { instance: 'seed', force: true });
  await seed.stop();
}

export async function teardown() {
  await stopAll();
}
