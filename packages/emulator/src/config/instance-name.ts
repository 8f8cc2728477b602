import { EmulatorError } from '../errors.js';

/** Instance names: short lowercase slugs (they name a directory, and a user types them). */
const INSTANCE_NAME = /^[a-z][a-z0-9-]{0,30}$/;

/** The rule of {@link INSTANCE_NAME}, as a user reads it. */
const INSTANCE_NAME_RULE = 'a lowercase letter, then up to 30 lowercase letters, digits or dashes (e.g. worker-1)';

/** True when `name` is a valid instance name (a directory under instances/ that is not one is ignored). */
export function isInstanceName(name: string): boolean {
  return INSTANCE_NAME.test(name);
}

/**
 * `name` when it is a valid instance name, else CONFIG_INVALID naming the value, where it came from
 * and the rule: the one check every way of naming an instance goes through.
 */
export function checkInstanceName(name: string, source = '--instance'): string {
  if (!isInstanceName(name))
    throw new EmulatorError('CONFIG_INVALID', `${source} ${JSON.stringify(name)} is not an instance name`, {
      hint: `use ${INSTANCE_NAME_RULE}`,
    });
  return name;
}
