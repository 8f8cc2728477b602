import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

/** What a zod schema offers (structurally, so this package needs no zod of its own). */
export interface JsonSchema<T> {
  safeParse(
    value: unknown,
  ): { success: true; data: T } | { success: false; error: { message: string; issues?: readonly JsonIssue[] } };
}

/** One problem zod found: where in the value, and what. */
export interface JsonIssue {
  path: readonly PropertyKey[];
  message: string;
}

/**
 * One line a user can read: the first issue and where it is. zod's own `message` is its issue
 * list as pretty-printed JSON, a dump no warning should carry.
 */
export function describeIssues(error: { message: string; issues?: readonly JsonIssue[] }): string {
  const [first, ...rest] = error.issues ?? [];
  if (!first) return error.message;
  const where = first.path.length > 0 ? `at ${first.path.map(String).join('.')}: ` : '';
  return `${where}${first.message}${rest.length > 0 ? ` (and ${rest.length} more)` : ''}`;
}

/** A persisted JSON file: absent, valid, or present but not what it should be (with why). */
export type JsonFile<T> = { kind: 'missing' } | { kind: 'ok'; value: T } | { kind: 'invalid'; reason: string };

/**
 * Reads a persisted JSON file through its schema: the one way every package reads its state files.
 * A missing file and a file that does not parse or validate are told apart; a read that fails for
 * another reason (EIO, EACCES, EMFILE: maybe passing) throws, so a caller never mistakes a host's
 * trouble for a bad file and sets good data aside.
 */
export async function readJsonFile<T>(path: string, schema: JsonSchema<T>): Promise<JsonFile<T>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (isMissing(e)) return { kind: 'missing' };
    throw e;
  }
  return parseJsonText(text, schema);
}

/** {@link readJsonFile} for the few readers that must stay synchronous (a sync API of their own). */
export function readJsonFileSync<T>(path: string, schema: JsonSchema<T>): JsonFile<T> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if (isMissing(e)) return { kind: 'missing' };
    throw e;
  }
  return parseJsonText(text, schema);
}

const isMissing = (e: unknown) =>
  (e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR';

function parseJsonText<T>(text: string, schema: JsonSchema<T>): JsonFile<T> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return { kind: 'invalid', reason: `not JSON (${(e as Error).message})` };
  }
  const r = schema.safeParse(raw);
  return r.success ? { kind: 'ok', value: r.data } : { kind: 'invalid', reason: describeIssues(r.error) };
}
