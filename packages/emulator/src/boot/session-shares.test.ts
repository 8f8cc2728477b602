import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chooseShareSlots, readonlyAfter, sharesAfter, startShares } from './session-shares.js';

const E = '/run/empty-share';
const all = () => true;

describe('chooseShareSlots', () => {
  it('keeps the saved slots and puts a new directory in the next one', () => {
    expect(chooseShareSlots(['/a'], ['/a', '/b'], E, all)).toEqual(['/a', '/b']);
    expect(chooseShareSlots(['/a', '/b'], ['/c'], E, all)).toEqual(['/a', '/b', '/c']);
  });

  it('a directory that is gone becomes the empty stand-in, whose slot a new directory takes first', () => {
    const exists = (d: string) => d !== '/gone';
    expect(chooseShareSlots(['/gone', '/b'], [], E, exists)).toEqual([E, '/b']);
    expect(chooseShareSlots(['/gone', '/b'], ['/c', '/d'], E, exists)).toEqual(['/c', '/b', '/d']);
    expect(chooseShareSlots([E, '/b'], ['/c'], E, all)).toEqual(['/c', '/b']);
  });

  it('no free slot: HOST_SHARE_FAILED naming what did not fit, what holds the slots, and the way out', () => {
    expect(() => chooseShareSlots(['/1', '/2', '/3'], ['/4', '/5', '/6'], E, all)).toThrow(
      expect.objectContaining({
        code: 'HOST_SHARE_FAILED',
        message: expect.stringMatching(
          /^no free share slot for \/5, \/6: the saved session already shares \/1, \/2, \/3/,
        ),
        hint: expect.stringContaining('--no-snapshot'),
      }),
    );
  });
});

describe('startShares', () => {
  it('the project first and read-write, then --share parents first; what a read-write share holds is dropped', () => {
    expect(
      startShares(
        '/p',
        [
          { dir: '/w/deep/er', readonly: false },
          { dir: '/w', readonly: true },
          { dir: '/p/sub', readonly: true },
          { dir: '/p', readonly: true },
        ],
        [],
      ),
    ).toEqual({ shares: ['/p', '/w', '/w/deep/er'], readonly: ['/w'] });
    expect(startShares(undefined, [], [])).toEqual({ shares: [], readonly: [] });
  });

  it('a resumed session keeps its read-only shares read-only unless this start asks them read-write', () => {
    expect(startShares('/p', [], ['/old']).readonly).toEqual(['/old']);
    expect(startShares('/p', [{ dir: '/old', readonly: false }], ['/old']).readonly).toEqual([]);
    expect(readonlyAfter(['/a', '/b'], ['/c'], ['/b'])).toEqual(['/c', '/a']);
  });
});

describe("sharesAfter (a saved session resumed with this start's shares)", () => {
  const empty = () => join(mkdtempSync(join(tmpdir(), 'shares-after-')), 'empty-share');
  const rw = (dir: string) => ({ dir, readonly: false });
  const ro = (dir: string) => ({ dir, readonly: true });

  it('takes no slot for what a saved share serves: inside a read-write one, or read-only inside a read-only one', () => {
    expect(sharesAfter(['/a', '/r'], ['/r'], [rw('/a/sub'), ro('/r/x')], empty(), all)).toEqual(['/a', '/r']);
  });

  it('read-write inside a read-only share takes a slot of its own (the same test as on a running VM)', () => {
    expect(sharesAfter(['/r'], ['/r'], [rw('/r/x'), rw('/r')], empty(), all)).toEqual(['/r', '/r/x']);
  });

  it('a gone directory serves nothing: its slot goes to the new directory', () => {
    const e = empty();
    expect(sharesAfter(['/gone', '/b'], [], [rw('/gone/sub')], e, (d) => d !== '/gone')).toEqual(['/gone/sub', '/b']);
  });
});
