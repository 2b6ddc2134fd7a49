const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/)([^\s:/@'"]*):([^\s@'"]*)@/gi;
const KEY_VALUE = /\b(password|passwd|pwd|pass)(\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,;&]+)/gi;

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
 * Shows a connection string without its password: `postgres://user:***@host:port/db`. Query parameters are
 * dropped (they may hold a password too). A string that does not parse is shown as `<invalid url>`.
 */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    const user = u.username ? `${decodeURIComponent(u.username)}:***@` : '';
    const port = u.port ? `:${u.port}` : '';
    return `${u.protocol}//${user}${u.hostname}${port}${u.pathname}`;
  } catch {
    return '<invalid url>';
  }
}

/** Deep copy of a value with every string passed through {@link redactSecrets}. @internal */
export function redactValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactSecrets(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return redactError(value, depth);
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = /^(password|passwd|pwd|pass|secret|connectionString)$/i.test(key) ? '***' : redactValue(v, depth + 1);
  }
  return out;
}

function redactError(err: Error, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {
    type: err.name,
    message: redactSecrets(err.message),
    stack: err.stack === undefined ? undefined : redactSecrets(err.stack),
  };
  for (const [key, v] of Object.entries(err)) out[key] = redactValue(v, depth + 1);
  if (err.cause !== undefined) out.cause = redactValue(err.cause, depth + 1);
  return out;
}
