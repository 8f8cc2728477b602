import type { Ports } from '../config/resolve-config.js';
import { loopbackRequest } from './loopback-http.js';

type ServiceName = 'dashboard' | 'backend' | 'minio' | 'inbucket';

/** The health probes of the guest contract (each expects 200). */
const HEALTH_PROBES: ReadonlyArray<{ name: ServiceName; path: string }> = [
  { name: 'dashboard', path: '/handler/sign-in' },
  { name: 'backend', path: '/health?db=1' },
  { name: 'minio', path: '/minio/health/live' },
  { name: 'inbucket', path: '/' },
];

export interface ServiceHealth {
  name: ServiceName;
  url: string;
  healthy: boolean;
  /** HTTP status, or 0 when nothing answered. */
  status: number;
  error?: string;
}

async function probe(
  ports: Ports,
  { name, path }: (typeof HEALTH_PROBES)[number],
  timeout?: number,
): Promise<ServiceHealth> {
  const r = await loopbackRequest(ports[name], path, { timeout });
  return {
    name,
    url: `http://127.0.0.1:${ports[name]}${path}`,
    healthy: r.status === 200,
    status: r.status,
    ...(r.error ? { error: r.error } : {}),
  };
}

/** Probes every service once, in parallel. */
export function probeServices(ports: Ports, options: { timeout?: number } = {}): Promise<ServiceHealth[]> {
  return Promise.all(HEALTH_PROBES.map((p) => probe(ports, p, options.timeout)));
}

/** "backend (503), minio (connect ECONNREFUSED ...)": the services that did not answer 200. */
export function describeUnhealthy(services: readonly ServiceHealth[]): string {
  return services
    .filter((s) => !s.healthy)
    .map((s) => `${s.name} (${s.status || s.error})`)
    .join(', ');
}

/**
 * Waits until every probe answers 200. Attempts are short (a guest that is running answers in
 * milliseconds) and a failed attempt is retried at once after a short pause, so no probe sits in a
 * 1 s TCP retransmit. Only call this on a running guest: a SYN sent to a paused one is lost.
 * Resolves with the last results; `healthy` says whether all passed in time.
 */
export async function waitHealthy(
  ports: Ports,
  options: { timeoutMs: number; signal?: AbortSignal; onPoll?: (h: ServiceHealth[]) => void },
): Promise<{ healthy: boolean; services: ServiceHealth[] }> {
  const end = Date.now() + options.timeoutMs;
  const last = new Map<ServiceName, ServiceHealth>();
  for (;;) {
    options.signal?.throwIfAborted();
    // A service that answered 200 keeps its answer; only the others are probed again.
    const pending = HEALTH_PROBES.filter((p) => !last.get(p.name)?.healthy);
    for (const h of await Promise.all(pending.map((p) => probe(ports, p, 500)))) last.set(h.name, h);
    const services = HEALTH_PROBES.map((p) => last.get(p.name)!);
    options.onPoll?.(services);
    if (services.every((s) => s.healthy)) return { healthy: true, services };
    if (Date.now() >= end) return { healthy: false, services };
    await new Promise((r) => setTimeout(r, 25));
  }
}
