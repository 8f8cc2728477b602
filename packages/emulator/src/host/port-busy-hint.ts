/** Who holds a port we need, as far as its command line tells. */
export type PortHolderKind = 'ours' | 'original' | 'successor-dashboard' | 'other';

/** The successor's local dashboard (the `stack` CLI after the original emulator was removed) listens here by default. */
const SUCCESSOR_DASHBOARD_PORT = 26700;

/** Our QEMU's monitor lives in a private socket directory (qemu-argv socketDirFor), never in a run directory. */
const OUR_SOCKETS = /\/stack-emulator(?:-\d+)?\/[0-9a-f]{12}\/(?:monitor|qga)\.sock\b/;
/** The original's run-emulator.sh put its monitor and agent sockets in `<run dir>/vm/`. */
const ORIGINAL_SOCKETS = /(\/\S*?)\/vm\/(?:monitor|qga)\.sock\b/;

const isQemu = (argv0: string) => /(^|\/)qemu-system-[\w-]+$/.test(argv0);
const isNode = (argv0: string) => /(^|\/)(node|nodejs|node\d+)$/.test(argv0);

/**
 * What holds `port`, from the holder's command line (on macOS, lsof may give only the command's
 * name): another VM of ours, the original `stack emulator`'s QEMU (with its run directory), the
 * successor's local dashboard (a node process on 26700), or something else.
 */
export function recogniseHolder(
  port: number,
  commandLine: string | undefined,
): { kind: PortHolderKind; runDir?: string } {
  const text = commandLine ?? '';
  const argv0 = text.split(' ')[0] ?? '';
  if (isQemu(argv0) && OUR_SOCKETS.test(text)) return { kind: 'ours' };
  const original = isQemu(argv0) ? ORIGINAL_SOCKETS.exec(text) : null;
  if (original) return { kind: 'original', runDir: original[1] };
  if (port === SUCCESSOR_DASHBOARD_PORT && isNode(argv0)) return { kind: 'successor-dashboard' };
  return { kind: 'other' };
}

/**
 * The way out of a busy port: who the holder is when it is a usual one, and the variable that moves
 * our port (`STACK_EMULATOR_DASHBOARD_PORT=26710`; any free port will do). `busy` lists the ports one
 * holder has, each with the variable that moves it.
 */
export function portBusyHint(
  commandLine: string | undefined,
  busy: ReadonlyArray<{ port: number; variable: string }>,
): string {
  const first = busy[0];
  if (!first) return '';
  const move = busy.map((b) => `${b.variable}=${b.port + 10}`).join(' ');
  const moveText = `or move ours to free ports: ${move} (any free ports will do)`;
  const holder = recogniseHolder(first.port, commandLine);
  switch (holder.kind) {
    case 'ours':
      return `that is another VM of stack-emulator (another STACK_EMULATOR_HOME or run directory): stop it with \`stack-emulator stop\` run with its STACK_EMULATOR_HOME, or start this one as a named instance (--instance <name> picks free ports), ${moveText}`;
    case 'original':
      return `that is the QEMU of the original \`stack emulator\` (run directory ${holder.runDir}): stop it (\`stack emulator stop\`, or EMULATOR_RUN_DIR=${holder.runDir} run-emulator.sh stop), ${moveText}`;
    case 'successor-dashboard':
      return `that is likely the local dashboard of the \`stack\` CLI (it listens on ${SUCCESSOR_DASHBOARD_PORT} by default): stop it, ${moveText}`;
    default:
      return `stop that process, ${moveText}`;
  }
}
