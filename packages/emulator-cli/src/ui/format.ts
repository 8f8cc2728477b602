import { formatTimings, type InstanceState, type StatusReport, type Timings } from '@stack/emulator';

const s = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(2)}s`);

export function formatStartSummary(
  state: InstanceState,
  alreadyRunning: boolean,
  pckPath: string,
  instance = 'default',
): string {
  // A named instance is named; the default one reads as it always did.
  const who = instance === 'default' ? 'Emulator' : `Instance ${instance}`;
  const lines = [
    alreadyRunning
      ? `${who} already running (pid ${state.pid}, ${state.mode}, since ${state.startedAt}); left as it is.`
      : `${who} ${MODE_TEXT[state.mode]} in ${s(startOnly(state.timings))} (${state.accel})${oneTime(state.timings)}.`,
    `  Dashboard  http://localhost:${state.ports.dashboard}`,
    `  Backend    http://localhost:${state.ports.backend}`,
    `  MinIO      http://localhost:${state.ports.minio}`,
    `  Inbucket   http://localhost:${state.ports.inbucket}`,
  ];
  if (state.coldReason && state.mode === 'cold') lines.push(`  cold boot because: ${state.coldReason}`);
  if (!alreadyRunning) lines.push(`  timings: ${formatTimings(state.timings)}`);
  const secrets = state.secrets ?? (state.rotated ? 'fresh' : 'placeholders');
  const said =
    secrets === 'fresh'
      ? 'fresh for this start'
      : secrets === 'kept'
        ? 'kept from the last start on this disk'
        : 'PLACEHOLDERS (rotation disabled)';
  lines.push(`  secrets: ${said}; credentials: \`stack-emulator env\` (client key in ${pckPath})`);
  if (!alreadyRunning)
    lines.push(
      state.persistence?.kind === 'session'
        ? `  data: kept in the session (\`stop\` ${state.persistence.save ? 'saves it, RAM included' : 'keeps its disk'}; \`reset\` discards it)`
        : '  data: ephemeral (nothing is kept after stop)',
    );
  return lines.join('\n');
}

/** The start itself, without this start's one-time work (building or pulling the image, capturing the snapshot). */
function startOnly(t: Timings): number | undefined {
  if (t.healthy === undefined) return undefined;
  return t.healthy - (t.captured ?? t.imageReady ?? 0);
}

function oneTime(t: Timings): string {
  const parts = [];
  if (t.imageReady !== undefined) parts.push(`${s(t.imageReady)} preparing the image`);
  if (t.captured !== undefined) parts.push(`${s(t.captured - (t.imageReady ?? t.probed ?? 0))} capturing its snapshot`);
  return parts.length ? `, after ${parts.join(' and ')} (once)` : '';
}

const MODE_TEXT: Record<InstanceState['mode'], string> = {
  resumed: 'resumed from a snapshot',
  session: 'resumed the saved session',
  cold: 'cold-booted',
};

const gb = (bytes: number) => `${(bytes / 1e9).toFixed(2)} GB`;

export function formatStatus(r: StatusReport): string {
  const dot = (ok: boolean) => (ok ? '●' : '○');
  const lines = [
    `VM: ${dot(r.vm === 'running')} ${r.vm}${r.runState && r.runState !== 'running' ? ` (${r.runState})` : ''}${r.instance ? `, pid ${r.instance.pid}, ${r.instance.mode}, ${r.instance.accel}` : ''}`,
  ];
  // A named instance is named; the default one reads as it always did.
  if (r.name !== 'default') lines.unshift(`Instance: ${r.name}`);
  if (r.reason) lines.push(`  ${r.reason}`);
  if (r.session) {
    const x = r.session;
    lines.push(
      `Session: ${x.ram ? `saved ${x.ram.savedAt} (RAM ${gb(x.sizes.ram)})` : x.running ? `running since ${x.running.since}` : 'disk only (the next start cold-boots it)'}; disk ${gb(x.sizes.disk)}; began ${x.createdAt} (${x.origin})`,
    );
  }
  if (r.notes?.length) for (const n of r.notes) lines.push(`  note: ${n}`);
  if (r.services.length > 0) {
    lines.push('Services:');
    for (const svc of r.services)
      lines.push(
        `  ${dot(svc.healthy)} ${svc.name.padEnd(10)} ${svc.url}  ${svc.healthy ? 'healthy' : `not healthy (${svc.status || svc.error})`}`,
      );
  }
  return lines.join('\n');
}
