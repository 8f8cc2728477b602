import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import type { Connector, Transport } from '@stack/qmp-protocol';
import { describe, expect, it } from 'vitest';
import { QgaClient } from './client.js';
import { QgaProtocolError, QgaTimeoutError } from './errors.js';

/** A scripted agent for byte-level corner cases. */
class FakeAgent extends EventEmitter implements Transport {
  writes: Buffer[] = [];
  handler: (line: string, raw: Buffer) => void = () => {};
  write(data: Uint8Array): boolean {
    const b = Buffer.from(data);
    this.writes.push(b);
    this.handler(b.toString('latin1'), b);
    return true;
  }
  destroy(): void {
    setImmediate(() => this.emit('close'));
  }
  send(bytes: Buffer | string, chunk = 0): void {
    const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes, 'latin1');
    setImmediate(() => {
      if (!chunk) this.emit('data', b);
      else for (let i = 0; i < b.length; i += chunk) this.emit('data', b.subarray(i, i + chunk));
    });
  }
}
const via =
  (a: FakeAgent): Connector =>
  async () =>
    a;
const syncId = (line: string) => Number(/"id":(\d+)/.exec(line)![1]);
const cmdId = (line: string) => /"id":"([^"]+)"/.exec(line)![1];

describe('QgaClient (scripted agent)', () => {
  it('skips stale replies and parse errors before the 0xFF of its own sync, in any chunking', async () => {
    for (const chunk of [0, 1, 3, 7]) {
      const agent = new FakeAgent();
      agent.handler = (line) => {
        if (line.includes('guest-sync-delimited')) {
          // Leftovers of an earlier client, then a parse error caused by our own 0xFF, then the answer.
          agent.send(
            `{"return": {}, "id": "old"}\n{"return": ${syncId(line)}}\n{"error": {"class": "GenericError", "desc": "JSON parse error, stray"}}\n\xff{"return": ${syncId(line)}}\n`,
            chunk,
          );
        } else if (line.includes('guest-ping')) agent.send(`{"return": {}, "id": "${cmdId(line)}"}\n`, chunk);
      };
      const qga = await QgaClient.connect('fake', { connector: via(agent) });
      await expect(qga.execute('guest-ping')).resolves.toEqual({});
      expect(agent.writes[0]![0]).toBe(0xff);
      expect(qga.synced).toBe(true);
    }
  });

  it('marks the channel unsynchronised after a timeout and resyncs before the next call', async () => {
    const agent = new FakeAgent();
    let pings = 0;
    agent.handler = (line) => {
      if (line.includes('guest-sync-delimited')) agent.send(`\xff{"return": ${syncId(line)}}\n`);
      else if (line.includes('guest-ping') && ++pings > 1) agent.send(`{"return": {}, "id": "${cmdId(line)}"}\n`);
    };
    const qga = await QgaClient.connect('fake', { connector: via(agent) });
    await expect(qga.execute('guest-ping', undefined, { timeout: 30 })).rejects.toBeInstanceOf(QgaTimeoutError);
    expect(qga.synced).toBe(false);
    await qga.execute('guest-ping');
    const syncs = agent.writes.filter((w) => w.includes('guest-sync-delimited')).length;
    expect(syncs).toBe(2);
  });

  it('turns an id-less error during a command into a protocol error and resyncs after it', async () => {
    const agent = new FakeAgent();
    let first = true;
    agent.handler = (line) => {
      if (line.includes('guest-sync-delimited')) agent.send(`\xff{"return": ${syncId(line)}}\n`);
      else if (first) {
        first = false;
        agent.send('{"error": {"class": "GenericError", "desc": "JSON parse error"}}\n');
      } else agent.send(`{"return": 5, "id": "${cmdId(line)}"}\n`);
    };
    const qga = await QgaClient.connect('fake', { connector: via(agent) });
    await expect(qga.execute('guest-info')).rejects.toBeInstanceOf(QgaProtocolError);
    expect(qga.synced).toBe(false);
    await expect(qga.execute('guest-info')).resolves.toBe(5);
  });
});

describe('QgaClient on a recorded qemu-ga 10.0.2 transcript', () => {
  // Server bytes after an earlier client left a reply unread and half a command in the agent's parser:
  // the stale reply, the parse error our 0xFF provoked, 0xFF + the sync reply, then the exec reply.
  const recorded = readFileSync(new URL('../test/fixtures/dirty-sync.server.bin', import.meta.url));
  const cut = recorded.indexOf('{"return": {"pid"');
  for (const chunk of [1, 2, 5, 64, 0]) {
    it(`syncs and gets the exec reply when fed in ${chunk || 'one'}-byte chunks`, async () => {
      const agent = new FakeAgent();
      agent.handler = (line) => {
        if (line.includes('guest-sync-delimited')) agent.send(recorded.subarray(0, cut), chunk);
        else if (line.includes('"stack#1"')) agent.send(recorded.subarray(cut), chunk);
      };
      const qga = await QgaClient.connect('fake', { connector: via(agent), syncId: () => 424242 });
      await expect(qga.execute('guest-exec', { path: '/bin/sh' })).resolves.toEqual({ pid: 26428 });
    });
  }
});
