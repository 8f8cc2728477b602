import { SessionStore } from '@stack/snapshot-cache';
import type { EmulatorConfig } from '../config/resolve-config.js';

/** The instance's session store (`<home>/session`). */
export function sessionStore(config: EmulatorConfig): SessionStore {
  return new SessionStore(config.paths.session, { platform: config.host.platform });
}
