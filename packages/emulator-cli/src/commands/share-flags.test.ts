import { describe, expect, it } from 'vitest';
import { emulatorCommands } from '../program.js';
import { startFlags, type StartFlags } from './shared.js';

/** The library's start options for a command line of `name` (its action is not run). */
function parsed(name: string, argv: string[]) {
  const cmd = emulatorCommands().find((c) => c.name() === name)!;
  cmd.parseOptions(argv);
  return startFlags(cmd.opts<StartFlags>());
}

describe('--share, --share-readonly, --yes (issue 32)', () => {
  it.each(['start', 'run'])('%s takes them, repeatable, as the library options', (name) => {
    expect(parsed(name, ['--share', '/a', '--share', 'rel/b', '--share-readonly', '/c', '--yes'])).toMatchObject({
      shares: ['/a', 'rel/b'],
      readonlyShares: ['/c'],
      confirmWideShare: true,
    });
  });

  it('none given: nothing more shared, nothing confirmed', () => {
    expect(parsed('start', [])).toMatchObject({ shares: [], readonlyShares: [], confirmWideShare: false });
  });
});
