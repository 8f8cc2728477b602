import { describe, expect, it } from 'vitest';
import type { StartFacts } from './attempt.js';
import { decideStart } from './decide.js';

const base: StartFacts = {
  ephemeral: false,
  forceCapture: false,
  golden: { kind: 'hit' },
  captured: false,
  failed: [],
};
const facts = (over: Partial<StartFacts>): StartFacts => ({ ...base, ...over });

describe('decideStart: the decision table of start', () => {
  describe('with a saved session', () => {
    it('resumes it when its RAM state fits', () => {
      expect(decideStart(facts({ session: {} }))).toEqual({ kind: 'resume-session' });
    });

    it("cold-boots the session's disk, with the reason, when its RAM state does not fit", () => {
      expect(decideStart(facts({ session: { ramProblem: 'the session has no saved RAM state' } }))).toEqual({
        kind: 'cold-session',
        reason: 'the session has no saved RAM state',
      });
    });

    it("cold-boots the session's disk after its resume failed, quoting the failure", () => {
      expect(
        decideStart(facts({ session: {}, failed: [{ attempt: 'resume-session', message: 'load failed' }] })),
      ).toEqual({ kind: 'cold-session', reason: 'the session resume failed: load failed' });
    });

    it('never looks at golden snapshots or earlier disks while a session exists', () => {
      const a = decideStart(
        facts({ session: {}, golden: { kind: 'missing', reason: 'none' }, earlierDisk: { from: 'x' } }),
      );
      expect(a.kind).toBe('resume-session');
    });
  });

  it("adopts an earlier tool's disk when there is no session", () => {
    expect(decideStart(facts({ earlierDisk: { from: 'the original stack-emulator' } }))).toEqual({
      kind: 'adopt',
      from: 'the original stack-emulator',
    });
  });

  describe('without a session (a new one begins), and ephemeral (a throwaway disk)', () => {
    for (const [ephemeral, target] of [
      [false, 'new-session'],
      [true, 'ephemeral'],
    ] as const) {
      it(`${target}: resumes the golden snapshot when there is one`, () => {
        expect(decideStart(facts({ ephemeral }))).toEqual({ kind: 'resume-golden', target });
      });

      it(`${target}: cold-boots with the reason when snapshots are off or impossible`, () => {
        expect(decideStart(facts({ ephemeral, noSnapshots: 'snapshots disabled' }))).toEqual({
          kind: 'cold-fresh',
          target,
          reason: 'snapshots disabled',
        });
      });

      it(`${target}: captures one when there is none, then resumes it`, () => {
        expect(
          decideStart(facts({ ephemeral, golden: { kind: 'missing', reason: 'no snapshot captured yet' } })),
        ).toEqual({
          kind: 'capture',
          reason: 'no snapshot captured yet',
        });
        expect(decideStart(facts({ ephemeral, captured: true }))).toEqual({ kind: 'resume-golden', target });
      });

      it(`${target}: cold-boots after the capture failed, or the golden resume failed`, () => {
        expect(
          decideStart(
            facts({
              ephemeral,
              golden: { kind: 'missing', reason: 'none' },
              failed: [{ attempt: 'capture', message: 'boom' }],
            }),
          ),
        ).toEqual({ kind: 'cold-fresh', target, reason: 'snapshot capture failed: boom' });
        expect(decideStart(facts({ ephemeral, failed: [{ attempt: 'resume-golden', message: 'bad state' }] }))).toEqual(
          { kind: 'cold-fresh', target, reason: 'resume failed: bad state' },
        );
      });

      // Regression: a capture's guest panicked 2 s into its boot under QEMU 7.2's TCG; the start gave
      // up on the snapshot and cold-booted (and so would every start after it until a capture held).
      it(`${target}: a capture whose guest panicked is tried once more, then cold-boots`, () => {
        const panicked = {
          attempt: 'capture' as const,
          message: 'the guest kernel panicked: oops',
          guestPanicked: true,
        };
        const missing = { kind: 'missing' as const, reason: 'none' };
        expect(decideStart(facts({ ephemeral, golden: missing, failed: [panicked] }))).toEqual({
          kind: 'capture',
          reason: 'the guest kernel panicked while the snapshot was being captured: again, once',
        });
        // Captured the second time: resumed.
        expect(decideStart(facts({ ephemeral, captured: true, failed: [panicked] }))).toEqual({
          kind: 'resume-golden',
          target,
        });
        expect(decideStart(facts({ ephemeral, golden: missing, failed: [panicked, panicked] }))).toEqual({
          kind: 'cold-fresh',
          target,
          reason: 'snapshot capture failed: the guest kernel panicked: oops',
        });
      });

      it(`${target}: a quarantined snapshot is not captured again on its own (that costs minutes)`, () => {
        expect(decideStart(facts({ ephemeral, golden: { kind: 'quarantined', reason: 'it failed' } }))).toEqual({
          kind: 'cold-fresh',
          target,
          reason: 'it failed; run `stack-emulator capture` to take a new one',
        });
      });

      it(`${target}: --force-capture captures even over a hit or a quarantined one, once`, () => {
        expect(decideStart(facts({ ephemeral, forceCapture: true }))).toEqual({ kind: 'capture', reason: 'forced' });
        expect(
          decideStart(facts({ ephemeral, forceCapture: true, golden: { kind: 'quarantined', reason: 'q' } })),
        ).toEqual({ kind: 'capture', reason: 'forced' });
        expect(decideStart(facts({ ephemeral, forceCapture: true, captured: true }))).toEqual({
          kind: 'resume-golden',
          target,
        });
      });
    }

    it('ephemeral ignores the session and earlier disks', () => {
      expect(decideStart(facts({ ephemeral: true, session: {}, earlierDisk: { from: 'x' } }))).toEqual({
        kind: 'resume-golden',
        target: 'ephemeral',
      });
    });
  });
});
