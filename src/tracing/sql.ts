/** What a span says about one SQL text. @internal */
export interface StatementInfo {
  /** `SELECT`, `INSERT`, … (the first keyword), or undefined for text that does not start with one. */
  operation: string | undefined;
  /** The first table the statement names after FROM / INTO / UPDATE, without quotes or schema. */
  table: string | undefined;
  /** The text with literals replaced by `?` (parameters stay `$1`, `$2`…): never a value. */
  text: string;
  /** `SELECT users`, `INSERT posts`, `BEGIN`… */
  summary: string;
}

const OPERATION = /^\s*(?:\/\*[\s\S]*?\*\/\s*)*([a-zA-Z]+)/;
const TARGET: Record<string, RegExp> = {
  SELECT: /\bfrom\s+((?:"(?:[^"]|"")+"|[\w$]+)(?:\s*\.\s*(?:"(?:[^"]|"")+"|[\w$]+))?)/i,
  INSERT: /^\s*insert\s+into\s+((?:"(?:[^"]|"")+"|[\w$]+)(?:\s*\.\s*(?:"(?:[^"]|"")+"|[\w$]+))?)/i,
  UPDATE: /^\s*update\s+(?:only\s+)?((?:"(?:[^"]|"")+"|[\w$]+)(?:\s*\.\s*(?:"(?:[^"]|"")+"|[\w$]+))?)/i,
  DELETE: /^\s*delete\s+from\s+(?:only\s+)?((?:"(?:[^"]|"")+"|[\w$]+)(?:\s*\.\s*(?:"(?:[^"]|"")+"|[\w$]+))?)/i,
};
TARGET.WITH = TARGET.SELECT!;

/**
 * String, dollar-quoted, bit/hex and numeric literals. Quoted identifiers and `$n` parameters are matched too and
 * kept, so a number inside `"t1"` or `$12` is never mistaken for a literal.
 */
const LITERALS =
  /("(?:[^"]|"")*")|(\$\d+)|(\$([a-zA-Z_]\w*)?\$[\s\S]*?\$\4\$)|((?:[eEbBxX]|[uU]&)?'(?:[^']|'')*')|((?<![\w$.])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w$]))/g;

/** The text with every literal value replaced by `?`. @internal */
export function sanitizeSql(text: string): string {
  return text.replace(LITERALS, (match, quoted: string | undefined, param: string | undefined) =>
    quoted !== undefined || param !== undefined ? match : '?',
  );
}

function unquote(name: string): string {
  const last = name.split(/\s*\.\s*(?=(?:[^"]*"[^"]*")*[^"]*$)/).pop() ?? name;
  return last.startsWith('"') ? last.slice(1, -1).replace(/""/g, '"') : last;
}

const MAX_CACHED = 1000;
const cache = new Map<string, StatementInfo>();

/**
 * Operation, table and sanitized text of a SQL statement, cached per text (the statements of an application are
 * few; the cache is emptied when it passes 1000 texts so ad-hoc SQL cannot grow it).
 * @internal
 */
export function describeStatement(text: string): StatementInfo {
  let info = cache.get(text);
  if (info) return info;
  const operation = OPERATION.exec(text)?.[1]?.toUpperCase();
  const target = operation === undefined ? undefined : TARGET[operation]?.exec(text)?.[1];
  const table = target === undefined ? undefined : unquote(target);
  const summary = operation === undefined ? 'postgresql' : table === undefined ? operation : `${operation} ${table}`;
  info = { operation, table, text: sanitizeSql(text), summary };
  if (cache.size >= MAX_CACHED) cache.clear();
  cache.set(text, info);
  return info;
}
