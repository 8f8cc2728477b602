/**
 * The base environment the Stack image's container reads from the config disk (`base.env`): Stack's
 * own development settings, taken from `apps/backend/.env.development` and
 * `apps/dashboard/.env.development` of a Stack checkout, plus fixed values for the emulator. The list
 * follows the variables the original tool's bundled file holds, so an image built by its pipeline
 * finds every variable its services read; `render-stack-env` in the guest adds the runtime ones
 * (ports, URLs, internal keys) on top.
 */
export type BaseEnvEntry = { key: string; from: 'backend' | 'dashboard' } | { key: string; value: string };

const b = (key: string): BaseEnvEntry => ({ key, from: 'backend' });
const d = (key: string): BaseEnvEntry => ({ key, from: 'dashboard' });
const fixed = (key: string, value: string): BaseEnvEntry => ({ key, value });

/** Every variable of the Stack base environment, in file order. */
export const STACK_BASE_ENV: readonly BaseEnvEntry[] = [
  // The app and its public credentials.
  fixed('NEXT_PUBLIC_STACK_DOCS_BASE_URL', 'https://docs.stack-auth.com'),
  fixed('NEXT_PUBLIC_STACK_IS_LOCAL_EMULATOR', 'true'),
  d('NEXT_PUBLIC_STACK_PROJECT_ID'),
  d('NEXT_PUBLIC_STACK_PUBLISHABLE_CLIENT_KEY'),
  d('STACK_SECRET_SERVER_KEY'),
  b('STACK_SERVER_SECRET'),
  b('STACK_CHANGELOG_URL'),
  // Seed defaults of the internal project (its keys come per VM, not from here).
  ...[
    'STACK_SEED_ENABLE_DUMMY_PROJECT',
    'STACK_SEED_INTERNAL_PROJECT_SIGN_UP_ENABLED',
    'STACK_SEED_INTERNAL_PROJECT_OTP_ENABLED',
    'STACK_SEED_INTERNAL_PROJECT_ALLOW_LOCALHOST',
    'STACK_SEED_INTERNAL_PROJECT_OAUTH_PROVIDERS',
    'STACK_SEED_INTERNAL_PROJECT_USER_INTERNAL_ACCESS',
  ].map(b),
  // Third-party integrations (test values in development).
  ...[
    'STACK_SVIX_API_KEY',
    'STACK_OPENAI_API_KEY',
    'STACK_OPENROUTER_API_KEY',
    'STACK_STRIPE_SECRET_KEY',
    'STACK_STRIPE_WEBHOOK_SECRET',
    'STACK_RESEND_API_KEY',
    'STACK_RESEND_WEBHOOK_SECRET',
    'STACK_DNSIMPLE_API_TOKEN',
    'STACK_DNSIMPLE_ACCOUNT_ID',
    'STACK_DNSIMPLE_API_BASE_URL',
    'STACK_FREESTYLE_API_KEY',
    'STACK_VERCEL_SANDBOX_TOKEN',
    'CRON_SECRET',
  ].map(b),
  // Storage, queueing, analytics.
  ...[
    'STACK_S3_REGION',
    'STACK_S3_ACCESS_KEY_ID',
    'STACK_S3_SECRET_ACCESS_KEY',
    'STACK_S3_BUCKET',
    'STACK_S3_PRIVATE_BUCKET',
    'STACK_AWS_REGION',
    'STACK_AWS_ACCESS_KEY_ID',
    'STACK_AWS_SECRET_ACCESS_KEY',
    'STACK_QSTASH_TOKEN',
    'STACK_QSTASH_CURRENT_SIGNING_KEY',
    'STACK_QSTASH_NEXT_SIGNING_KEY',
    'STACK_CLICKHOUSE_ADMIN_USER',
    'STACK_CLICKHOUSE_ADMIN_PASSWORD',
    'STACK_CLICKHOUSE_EXTERNAL_PASSWORD',
  ].map(b),
  // Email (the guest's Inbucket) and the dashboard's integrations.
  fixed('STACK_EMAIL_PORT', '2500'),
  b('STACK_EMAIL_SECURE'),
  fixed('STACK_EMAIL_USERNAME', 'does-not-matter'),
  fixed('STACK_EMAIL_PASSWORD', 'does-not-matter'),
  ...[
    'STACK_EMAIL_SENDER',
    'STACK_DEFAULT_EMAIL_CAPACITY_PER_HOUR',
    'STACK_EMAIL_MONITOR_PROJECT_ID',
    'STACK_EMAIL_MONITOR_PUBLISHABLE_CLIENT_KEY',
    'STACK_EMAIL_MONITOR_RESEND_EMAIL_DOMAIN',
    'STACK_EMAIL_MONITOR_RESEND_EMAIL_API_KEY',
    'STACK_EMAIL_MONITOR_SECRET_TOKEN',
    'STACK_EMAIL_MONITOR_USE_INBUCKET',
  ].map(b),
  d('STACK_FEATUREBASE_JWT_SECRET'),
  // OAuth through the mock server.
  fixed('STACK_FORWARD_MOCK_OAUTH_SERVER', 'false'),
  ...[
    'STACK_GITHUB_CLIENT_ID',
    'STACK_GITHUB_CLIENT_SECRET',
    'STACK_GOOGLE_CLIENT_ID',
    'STACK_GOOGLE_CLIENT_SECRET',
    'STACK_MICROSOFT_CLIENT_ID',
    'STACK_MICROSOFT_CLIENT_SECRET',
    'STACK_SPOTIFY_CLIENT_ID',
    'STACK_SPOTIFY_CLIENT_SECRET',
    'STACK_ALLOW_SHARED_OAUTH_ACCESS_TOKENS',
  ].map(b),
  // The guest's own services, all in its container on 127.0.0.1.
  fixed(
    'STACK_DATABASE_CONNECTION_STRING',
    'postgres://postgres:PASSWORD-PLACEHOLDER--uqfEC1hmmv@127.0.0.1:5432/stackframe',
  ),
  b('STACK_EMAIL_HOST'),
  fixed('STACK_SVIX_SERVER_URL', 'http://127.0.0.1:8071'),
  fixed('STACK_S3_ENDPOINT', 'http://127.0.0.1:9090'),
  fixed('STACK_QSTASH_URL', 'http://127.0.0.1:8080'),
  fixed('STACK_CLICKHOUSE_URL', 'http://127.0.0.1:8123'),
  fixed('STACK_CLICKHOUSE_DATABASE', 'default'),
  fixed('STACK_EMAIL_MONITOR_INBUCKET_API_URL', 'http://127.0.0.1:9001'),
  fixed('BACKEND_PORT', '8102'),
  fixed('DASHBOARD_PORT', '8101'),
];

/** The variable names of {@link STACK_BASE_ENV}. */
export const STACK_BASE_ENV_KEYS: readonly string[] = STACK_BASE_ENV.map((e) => e.key);

/** `KEY=VALUE` lines of a dotenv file (blank lines and `#` comments skipped; the value kept as written). */
export function parseEnvFile(text: string, name = 'env file'): Map<string, string> {
  const env = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = raw.indexOf('=');
    if (eq < 0) throw new Error(`${name}: not a KEY=VALUE line: ${raw.slice(0, 80)}`);
    env.set(raw.slice(0, eq).trim(), raw.slice(eq + 1));
  }
  return env;
}

/**
 * The base environment from the texts of Stack's two development env files. Throws naming every
 * variable a file lacks (a Stack version that renamed one needs this list updated).
 */
export function generateStackBaseEnv(
  files: { backend: string; dashboard: string },
  options: { source?: string } = {},
): string {
  const env = {
    backend: parseEnvFile(files.backend, 'apps/backend/.env.development'),
    dashboard: parseEnvFile(files.dashboard, 'apps/dashboard/.env.development'),
  };
  const missing = STACK_BASE_ENV.filter((e) => 'from' in e && !env[e.from].has(e.key)).map(
    (e) => `${e.key} (apps/${(e as { from: string }).from}/.env.development)`,
  );
  if (missing.length)
    throw new Error(
      `Stack's development env files lack ${missing.join(', ')}: update STACK_BASE_ENV (packages/emulator-image/src/stack-base-env.ts)`,
    );
  const lines = STACK_BASE_ENV.map((e) => `${e.key}=${'from' in e ? env[e.from].get(e.key) : e.value}`);
  return `# Stack base environment, generated by @stack/emulator-image from ${options.source ?? "Stack's development env files"}\n${lines.join('\n')}\n`;
}
