import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { QmpClient } from './client.js';
import { QmpCommandError, QmpConnectError, QmpDisconnectedError, QmpProtocolError, QmpTimeoutError } from './errors.js';
import type { Connector, Transport } from '@stack/internal';

/** A scripted peer for corner cases a real QEMU cannot be made to produce on demand. */
class FakePeer extends EventEmitter implements Transport {
  sent: Array<{ execute: string; id: unknown; arguments?: unknown }> = [];
  onCommand: (cmd: { execute: string; id: unknown }) => void = () => {};
  write(data: Uint8Array): boolean {
    const cmd = JSON.parse(Buffer.from(data).toString());
    this.sent.push(cmd);
    if (cmd.execute === 'qmp_capabilities') this.reply({ return: {}, id: cmd.id });
    else this.onCommand(cmd);
    return true;
  }
  destroy(): void {
    setImmediate(() => this.emit('close'));
  }
  reply(obj: unknown, raw?: string): void {
    setImmediate(() => this.emit('data', Buffer.from(raw ?? `${JSON.stringify(obj)}\r\n`)));
  }
  greet(): this {
    this.reply({ QMP: { version: { qemu: { major: 10, minor: 0, micro: 2 }, package: '' }, capabilities: [] } });
    return this;
  }
}

const via =
  (peer: FakePeer): Connector =>
  async () =>
    peer;

describe('QmpClient (scripted peer)', () => {
  it('rejects an oversized line as a protocol error and fails pending calls', async () => {
    const peer = new FakePeer().greet();
    const qmp = await QmpClient.connect('fake', { connector: via(peer), maxLineBytes: 200 });
    peer.onCommand = (c) => peer.reply(null, `{"return": "${'x'.repeat(300)}", "id": "${c.id}"}\r\n`);
    await expect(qmp.execute('query-status')).rejects.toBeInstanceOf(QmpProtocolError);
    expect(qmp.closed).toBe(true);
  });

  it('drops the late reply of a timed-out command and keeps working', async () => {
    const peer = new FakePeer().greet();
    const qmp = await QmpClient.connect('fake', { connector: via(peer) });
    let held: { id: unknown } | undefined;
    peer.onCommand = (c) => {
      if (c.execute === 'slow') held = c;
      else peer.reply({ return: { ok: true }, id: c.id });
    };
    await expect(qmp.execute('slow', undefined, { timeout: 20 })).rejects.toBeInstanceOf(QmpTimeoutError);
    peer.reply({ return: 'late', id: held!.id });
    await expect(qmp.execute('fast')).resolves.toEqual({ ok: true });
    expect(qmp.closed).toBe(false);
    await qmp.close();
  });

  it('matches replies by id when they come back out of order', async () => {
    const peer = new FakePeer().greet();
    const qmp = await QmpClient.connect('fake', { connector: via(peer) });
    const held: Array<{ id: unknown; execute: string }> = [];
    peer.onCommand = (c) => {
      held.push(c);
      if (held.length === 3) for (const h of held.reverse()) peer.reply({ return: h.execute, id: h.id });
    };
    const results = await Promise.all([qmp.execute('a'), qmp.execute('b'), qmp.execute('c')]);
    expect(results).toEqual(['a', 'b', 'c']);
    await qmp.close();
  });

  it('fails with a connect error when the first message is not a greeting', async () => {
    const peer = new FakePeer();
    peer.reply({ return: {} });
    await expect(QmpClient.connect('fake', { connector: via(peer) })).rejects.toBeInstanceOf(QmpProtocolError);
  });

  it('fails with a connect error when the peer closes during the handshake', async () => {
    const peer = new FakePeer();
    setImmediate(() => peer.emit('close'));
    await expect(QmpClient.connect('fake', { connector: via(peer) })).rejects.toBeInstanceOf(QmpConnectError);
  });

  it('keeps error class and desc of a refused command', async () => {
    const peer = new FakePeer().greet();
    const qmp = await QmpClient.connect('fake', { connector: via(peer) });
    peer.onCommand = (c) => peer.reply({ error: { class: 'DeviceNotFound', desc: "Device 'x' not found" }, id: c.id });
    const err = await qmp.execute('device_del', { id: 'x' }).catch((e) => e);
    expect(err).toBeInstanceOf(QmpCommandError);
    expect(err).toMatchObject({
      code: 'QMP_COMMAND_FAILED',
      errorClass: 'DeviceNotFound',
      desc: "Device 'x' not found",
      command: 'device_del',
    });
    await qmp.close();
    await expect(qmp.execute('query-status')).rejects.toBeInstanceOf(QmpDisconnectedError);
  });
});
