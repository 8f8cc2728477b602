/**
 * A connection's debug log (qemu.qmp keeps one per connection): every message, as it is sent (the
 * command, its arguments and id) and as it is received (decoded). Called synchronously; must not throw.
 * Messages may hold secrets (a guest-exec's input): the receiver redacts what it prints.
 */
export type ProtocolTrace = (direction: 'send' | 'recv', message: unknown) => void;
