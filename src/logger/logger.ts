import { createRequire } from 'node:module';
import { context, isSpanContextValid, trace } from '@opentelemetry/api';
import { pino, type DestinationStream, type Logger as PinoLogger, type LoggerOptions } from 'pino';
import type PinoPretty from 'pino-pretty';
import { isProductionEnv, resolveLogLevel, type LogLevel } from '../config/index.js';
import { redactSecrets, redactValue } from './redact.js';

/** The logger API of `@spfn/core`: pino's, with `child(name)` taking a component name. */
export interface Logger {
  fatal(obj: unknown, msg?: string): void;
  fatal(msg: string): void;
  error(obj: unknown, msg?: string): void;
  error(msg: string): void;
  warn(obj: unknown, msg?: string): void;
  warn(msg: string): void;
  info(obj: unknown, msg?: string): void;
  info(msg: string): void;
  debug(obj: unknown, msg?: string): void;
  debug(msg: string): void;
  trace(obj: unknown, msg?: string): void;
  trace(msg: string): void;
  /** A logger whose lines carry `component: name`. */
  child(name: string): Logger;
  /** True when lines of this level are written. */
  isLevelEnabled(level: LogLevel): boolean;
  level: string;
}

/** Options of {@link createLogger}. */
export interface CreateLoggerOptions {
  /** Default: LOG_LEVEL, else `info`. */
  level?: LogLevel;
  /**
   * JSON lines (default in production) or readable lines (default elsewhere). Readable lines need the optional
   * package `pino-pretty`; without it the logger writes JSON and says once how to get readable lines.
   */
  format?: 'json' | 'pretty';
  /** Where lines go; default stdout. */
  destination?: NodeJS.WritableStream;
}

class SpfnLogger implements Logger {
  readonly #pino: PinoLogger;
  constructor(p: PinoLogger) {
    this.#pino = p;
  }
  get level(): string {
    return this.#pino.level;
  }
  set level(level: string) {
    this.#pino.level = level;
  }
  fatal(a: unknown, msg?: string): void {
    this.#write('fatal', a, msg);
  }
  error(a: unknown, msg?: string): void {
    this.#write('error', a, msg);
  }
  warn(a: unknown, msg?: string): void {
    this.#write('warn', a, msg);
  }
  info(a: unknown, msg?: string): void {
    this.#write('info', a, msg);
  }
  debug(a: unknown, msg?: string): void {
    this.#write('debug', a, msg);
  }
  trace(a: unknown, msg?: string): void {
    this.#write('trace', a, msg);
  }
  child(name: string): Logger {
    return new SpfnLogger(this.#pino.child({ component: name }));
  }
  isLevelEnabled(level: LogLevel): boolean {
    return this.#pino.isLevelEnabled(level);
  }
  #write(level: Exclude<LogLevel, 'silent'>, a: unknown, msg?: string): void {
    if (!this.#pino.isLevelEnabled(level)) return;
    if (typeof a === 'string') {
      this.#pino[level](redactSecrets(a));
    } else if (a instanceof Error) {
      this.#pino[level]({ err: redactValue(a) }, msg === undefined ? redactSecrets(a.message) : redactSecrets(msg));
    } else {
      this.#pino[level](redactValue(a) as object, msg === undefined ? undefined : redactSecrets(msg));
    }
  }
}

/**
 * Creates a logger. Secrets are redacted everywhere: passwords in URLs (also inside message strings and error
 * messages and stacks), and fields named password/secret/connectionString.
 *
 * @example
 * ```ts
 * const log = createLogger({ level: 'debug' }).child('billing');
 * log.info({ orderId }, 'charged');
 * ```
 */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const level = options.level ?? resolveLogLevel();
  const format = options.format ?? (isProductionEnv() ? 'json' : 'pretty');
  const pinoOptions: LoggerOptions = {
    level,
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    // Errors reach pino already redacted as plain objects (redactValue); pino's own serializer would rename them
    // `Object` and fold the cause chain into the message.
    serializers: { err: (value: unknown) => value },
    mixin: traceFields,
  };
  const pretty = format === 'pretty' ? loadPretty() : undefined;
  const stream: DestinationStream | NodeJS.WritableStream = pretty
    ? pretty({
        sync: true,
        colorize: false,
        translateTime: 'HH:MM:ss.l',
        ignore: 'pid,hostname',
        destination: options.destination ?? 1,
      })
    : (options.destination ?? pino.destination({ sync: true }));
  const logger = new SpfnLogger(pino(pinoOptions, stream));
  if (format === 'pretty' && !pretty && !prettyHintGiven) {
    prettyHintGiven = true;
    logger.info('readable logs need pino-pretty (npm install --save-dev pino-pretty); logging JSON lines');
  }
  return logger;
}

type Pretty = typeof PinoPretty;
let prettyModule: Pretty | null | undefined;
let prettyHintGiven = false;

/**
 * pino-pretty, when the application installed it; null otherwise. It is an optional peer (docs/adr/1001): a
 * production install must not need a development formatter to import the package.
 */
function loadPretty(): Pretty | null {
  if (prettyModule !== undefined) return prettyModule;
  try {
    const required = createRequire(import.meta.url)('pino-pretty') as Pretty | { default: Pretty };
    prettyModule = typeof required === 'function' ? required : required.default;
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'MODULE_NOT_FOUND') throw err;
    prettyModule = null;
  }
  return prettyModule;
}

/**
 * `trace_id`, `span_id` and `trace_flags` of the active OpenTelemetry span, so a log line can be found from its
 * trace and back. Nothing when no span is active (always so without an SDK).
 */
function traceFields(): object {
  const span = trace.getSpan(context.active());
  // pino merges the line's own fields into the returned object: it must be a new one each time.
  if (span === undefined) return {};
  const ctx = span.spanContext();
  if (!isSpanContextValid(ctx)) return {};
  return { trace_id: ctx.traceId, span_id: ctx.spanId, trace_flags: ctx.traceFlags.toString(16).padStart(2, '0') };
}

let root: Logger | undefined;

/**
 * The process-wide logger, created on first use from LOG_LEVEL and NODE_ENV. A LOG_LEVEL that does not parse must
 * not turn every log call (error paths included) into a throw: the logger then runs at `info` and says so once;
 * `initDatabase()` and the server reject the value at start-up with a ConfigError.
 */
export function getLogger(): Logger {
  if (root) return root;
  try {
    root = createLogger();
  } catch (err) {
    root = createLogger({ level: 'info' });
    root.error({ err }, 'invalid logger configuration; logging at info');
  }
  return root;
}

/**
 * The default logger. `logger.child('name')` gives a component logger.
 *
 * @example
 * ```ts
 * import { logger } from '@spfn/core/logger';
 * logger.child('jobs').info('started');
 * ```
 */
export const logger: Logger = {
  fatal: (a: unknown, m?: string) => getLogger().fatal(a, m),
  error: (a: unknown, m?: string) => getLogger().error(a, m),
  warn: (a: unknown, m?: string) => getLogger().warn(a, m),
  info: (a: unknown, m?: string) => getLogger().info(a, m),
  debug: (a: unknown, m?: string) => getLogger().debug(a, m),
  trace: (a: unknown, m?: string) => getLogger().trace(a, m),
  child: (name: string) => lazyChild(name),
  isLevelEnabled: (level: LogLevel) => getLogger().isLevelEnabled(level),
  get level() {
    return getLogger().level;
  },
  set level(l: string) {
    getLogger().level = l;
  },
};

/**
 * A component logger that follows {@link setLogger}: modules create theirs at import time, before an
 * application or a test may have replaced the root.
 */
function lazyChild(name: string): Logger {
  let parent: Logger | undefined;
  let child: Logger | undefined;
  const current = (): Logger => {
    const r = getLogger();
    if (r !== parent || child === undefined) {
      parent = r;
      child = r.child(name);
    }
    return child;
  };
  return {
    fatal: (a: unknown, m?: string) => current().fatal(a, m),
    error: (a: unknown, m?: string) => current().error(a, m),
    warn: (a: unknown, m?: string) => current().warn(a, m),
    info: (a: unknown, m?: string) => current().info(a, m),
    debug: (a: unknown, m?: string) => current().debug(a, m),
    trace: (a: unknown, m?: string) => current().trace(a, m),
    child: (n: string) => current().child(n),
    isLevelEnabled: (level: LogLevel) => current().isLevelEnabled(level),
    get level() {
      return current().level;
    },
    set level(l: string) {
      current().level = l;
    },
  };
}

/** Replaces the process-wide logger (tests, or an application that configures its own). */
export function setLogger(next: Logger): void {
  root = next;
}
