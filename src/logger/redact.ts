/**
 * `scheme://user:password@host`. The password runs to the last `@` of the authority (an unencoded `@`, quote or
 * space in a password is still hidden whole); it may not span lines.
 */
const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/)([^\s:/@'"]*):([^\n]*?)@(?=[^\s@/?#'"]*(?:[\s/?#'",;)\]}]|$))/gim;
const KEY_VALUE = /\b(password|passwd|pwd|pass)(["']?\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,;&]+)/gi;
/** Field names whose value is a secret, whatever it looks like. */
const SECRET_KEYS = /^(password|passwd|pwd|pass|secret|connectionString)$/i;
/** Driver error fields that hold SQL parameter values (postgres.js `parameters`/`args`, PGlite and Drizzle `params`). */
const PARAMETER_KEYS = new Set(['params', 'parameters', 'args']);

/**
 * Replaces passwords in any text: the password of every `scheme://user:password@host` URL, and
 * `password=…` / `password: …` pairs, become `***`.
 *
 * @example
 * ```ts
 * redactSecrets('connect postgres://app:s3cret@db:5432/app') // 'connect postgres://app:***@db:5432/app'
 * ```
 */
export function redactSecrets(text: string): string {
  if (!text.includes('@') && !/pass|pwd/i.test(text)) return text;
  return text.replace(URL_CREDENTIALS, '$1$2:***@').replace(KEY_VALUE, '$1$2***');
}

/**
 * Shows a connection string without its password: `postgres://user:***@host:port/db` (host lists such as
 * `h1:5432,h2:5433` are kept). Query parameters are dropped (they may hold a password too). A string that does
 * not parse is shown as `<invalid url>`.
 *
 * @example
 * ```ts
 * maskUrl('postgres://app:s3cret@db:5432/app?sslmode=require') // 'postgres://app:***@db:5432/app'
 * ```
 */
export function maskUrl(url: string): string {
  try {
    const trimmed = url.trim();
    const authority = trimmed.slice(trimmed.indexOf('://') + 3).split(/[?/#]/)[0] ?? '';
    const hosts = authority.slice(authority.lastIndexOf('@') + 1);
    const list = hosts.includes(',') ? hosts : undefined;
    const u = new URL(list ? trimmed.replace(list, list.split(',')[0]!) : trimmed);
    const user = u.username ? `${decodeURIComponent(u.username)}:***@` : '';
    const host = list ?? `${u.hostname}${u.port ? `:${u.port}` : ''}`;
    return `${u.protocol}//${user}${host}${u.pathname}`;
  } catch {
    return '<invalid url>';
  }
}

/**
 * Deep copy of a value for a log line: every string passed through {@link redactSecrets}, secret-named fields
 * replaced by `***`, and the SQL parameter values drivers attach to their errors left out.
 * @internal
 */
export function redactValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactSecrets(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return redactError(value, depth);
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = SECRET_KEYS.test(key) ? '***' : redactValue(v, depth + 1);
  }
  return out;
}

const SQLSTATE = /^[0-9A-Z]{5}$/;
/** SQLSTATE classes whose server messages name objects but never data values. */
const SAFE_MESSAGE_CLASSES = new Set(['42', '0A', '25', '55', '3D', '3F', '2B']);
/** Fields of a server error that name objects, never values (both spellings: postgres.js `*_name` and ours). */
const SERVER_FIELDS = [
  'code',
  'severity',
  'routine',
  'constraint',
  'constraint_name',
  'table',
  'table_name',
  'column',
  'column_name',
  'schema',
  'schema_name',
];

function isServerError(err: Error): err is Error & { code: string } {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && SQLSTATE.test(code) && ('severity' in err || 'routine' in err);
}

/**
 * A PostgreSQL error as a log line may show it: SQLSTATE, severity and the object names. Its message is kept only
 * for classes whose messages never quote a value (`invalid input syntax for type bigint: "abc"` is class 22),
 * its detail only for those and integrity violations, with the row values elided; hint, where, the query and
 * its parameters are left out, and so is the stack (it repeats the message).
 */
function redactServerError(err: Error & { code: string }): Record<string, unknown> {
  const safe = SAFE_MESSAGE_CLASSES.has(err.code.slice(0, 2));
  const out: Record<string, unknown> = {
    type: err.name,
    message: safe ? redactSecrets(err.message) : `SQLSTATE ${err.code}`,
  };
  const fields = err as unknown as Record<string, unknown>;
  for (const key of SERVER_FIELDS) {
    const value = fields[key];
    if (typeof value === 'string' && value.length > 0) out[key] = value;
  }
  // Integrity violations explain themselves in `detail` ("Key (email)=(…) already exists."), values elided.
  if (typeof fields.detail === 'string' && (safe || err.code.startsWith('23'))) {
    out.detail = withoutRowValues(fields.detail);
  }
  return out;
}

function redactError(err: Error, depth: number): Record<string, unknown> {
  if (isServerError(err)) return redactServerError(err);
  const out: Record<string, unknown> = {
    type: err.name,
    message: redactSecrets(withoutParams(err.message)),
    stack: err.stack === undefined ? undefined : redactSecrets(withoutParams(err.stack)),
  };
  for (const [key, v] of Object.entries(err)) {
    if (PARAMETER_KEYS.has(key)) continue;
    if (SECRET_KEYS.test(key)) out[key] = '***';
    else if (key === 'detail' && typeof v === 'string') out[key] = withoutRowValues(v);
    else out[key] = redactValue(v, depth + 1);
  }
  if (err.cause !== undefined) out.cause = redactValue(err.cause, depth + 1);
  return out;
}

/** Drizzle's DrizzleQueryError message ends with `params: <values>`. */
function withoutParams(text: string): string {
  return text.replace(/\nparams: [\s\S]*?(?=\n {4}at |$)/, '\nparams: [redacted]');
}

/** PostgreSQL's detail repeats values: `Key (email)=(a@b) already exists.`, `Failing row contains (…)`. */
function withoutRowValues(detail: string): string {
  return detail.replace(/\)=\(.*\)/g, ')=(…)').replace(/(Failing row contains )\(.*\)/g, '$1(…)');
}
