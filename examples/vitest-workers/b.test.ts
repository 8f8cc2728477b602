import { expect, it } from 'vitest';
import { getData, putData } from './data.js';

// Each file starts at the seeded checkpoint: the seed is there, no other file's write is.
it("file b sees the seed and none of the other files' writes", async () => {
  expect(await getData(process.env, 'seeded')).toBe('yes');
  expect(await getData(process.env, 'written-by-a-file')).toBeUndefined();
  await putData(process.env, 'written-by-a-file', 'b');
  expect(await getData(process.env, 'written-by-a-file')).toBe('b');
  await putData(process.env, 'worker', process.env.STACK_API_URL ?? '');
});
