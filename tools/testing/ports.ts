/**
 * The first of `count` consecutive loopback ports for a test VM's forwards, below the kernel's
 * ephemeral range (Linux 32768-60999, macOS 49152+). A port picked inside it can be the local end of
 * an outgoing connection at that moment (the parallel network tests make thousands): QEMU then fails
 * to forward it ("port 33850 (dashboard) is in use" failed a whole suite once). Random in steps of
 * ten, so parallel tests, suites and stray processes rarely meet.
 */
export function testPortBase(count = 10): number {
  if (count > 10) throw new Error(`testPortBase: at most 10 ports per base, not ${count}`);
  return 20000 + Math.floor(Math.random() * 1270) * 10;
}

/** A throwaway emulator home's variables: the home and five test ports (dashboard, backend, minio, inbucket, mock OAuth). */
export function testEmulatorEnv(home: string): Record<string, string> {
  const base = testPortBase(5);
  return {
    STACK_EMULATOR_HOME: home,
    EMULATOR_DASHBOARD_PORT: String(base),
    EMULATOR_BACKEND_PORT: String(base + 1),
    EMULATOR_MINIO_PORT: String(base + 2),
    EMULATOR_INBUCKET_PORT: String(base + 3),
    EMULATOR_MOCK_OAUTH_PORT: String(base + 4),
  };
}
