import { describe, expect, it } from 'vitest';
import { MarkerScanner } from './markers.js';

describe('MarkerScanner', () => {
  it('finds markers split across chunks and keeps the failure detail', () => {
    const s = new MarkerScanner(3);
    const events = [...s.push('boot...\r\nSTACK_CLOUD_'), ...s.push('INIT_FAILED: dpkg exited 1\nmore\n')];
    expect(events.filter((e) => e.type !== 'line')).toEqual([{ type: 'failed', detail: 'dpkg exited 1' }]);
    expect(s.tail()).toEqual(['boot...', 'STACK_CLOUD_INIT_FAILED: dpkg exited 1', 'more']);
  });
  it('recognises done and ready, and ignores escape codes', () => {
    const s = new MarkerScanner();
    expect(s.push('\x1b[0mSTACK_CLOUD_INIT_DONE\nSTACK_SERVICES_READY\n').filter((e) => e.type !== 'line')).toEqual([
      { type: 'done' },
      { type: 'ready' },
    ]);
  });
});
