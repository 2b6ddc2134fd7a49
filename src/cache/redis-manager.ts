import { Redis } from 'ioredis';
import {
  checkOptions,
  REDIS_MANAGER_OPTIONS,
  resolveRedisConfig,
  type RedisOptions,
  type ResolvedRedisConfig,
} from '../config/index.js';
import { ConnectionError } from '../errors/index.js';
import { logger, maskUrl } from '../logger/index.js';

const log = logger.child('redis');

/** Options of {@link RedisManager}: the URLs (else REDIS_URL / REDIS_WRITE_URL / REDIS_READ_URL) and limits. */
export interface RedisManagerOptions extends RedisOptions {
  /** Milliseconds to open a connection and answer PING at start-up. Default 10000. */
  connectTimeout?: number;
  /** Attempts after the first failed connect at start-up, with doubling delay from 250 ms. Default 2. */
  connectRetries?: number;
  /** CLIENT SETNAME of every connection. Default `spfn`. */
  connectionName?: string;
  /** Milliseconds `close()` waits for QUIT before dropping the socket. Default 2000. */
  closeTimeout?: number;
}

/** The clients returned by `initRedis()`. */
export interface RedisClients {
  /** The primary (REDIS_WRITE_URL, else REDIS_URL). */
  write: Redis;
  /** The replica (REDIS_READ_URL), else the same client as `write`. */
  read: Redis;
}

/** Health of one Redis client, as `/health/ready` shows it. */
export interface RedisHealth {
  name: 'write' | 'read';
  url: string;
  healthy: boolean;
  latencyMs: number | undefined;
  error: string | undefined;
}

/** Thrown by `getRedis()` before `initRedis()`, after `closeRedis()`, or when no Redis URL is configured. */
export class RedisNotInitializedError extends Error {
  readonly code = 'REDIS_NOT_INITIALIZED';
  constructor(message = 'Redis is not initialized: set REDIS_URL and call initRedis() (or startServer()) first') {
    super(message);
    this.name = 'RedisNotInitializedError';
  }
}

type State = 'idle' | 'initializing' | 'ready' | 'closing' | 'closed';

function timeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      // Held, not unref'd: the caller awaits this wait.
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Owns the Redis connections of one application: a write client and, when REDIS_READ_URL is set, a read client.
 * The same lifecycle rules as the database: `init()` is idempotent (also when called twice at once), an
 * unreachable server at start-up is a ConnectionError after the retries and leaves nothing open, and `close()` is
 * bounded and safe to call twice. After start-up the client reconnects by itself with backoff (ioredis).
 *
 * @example
 * ```ts
 * const cache = new RedisManager({ url: 'redis://127.0.0.1:6379' });
 * const { write } = await cache.init();
 * await write.set('greeting', 'hello', 'EX', 60);
 * await cache.close();
 * ```
 */
export class RedisManager {
  readonly #options: RedisManagerOptions;
  #state: State = 'idle';
  #initializing: Promise<RedisClients | undefined> | undefined;
  #closing: Promise<void> | undefined;
  #clients: RedisClients | undefined;
  #config: ResolvedRedisConfig | undefined;

  constructor(options: RedisManagerOptions = {}) {
    checkOptions(options, REDIS_MANAGER_OPTIONS, 'new RedisManager()');
    this.#options = options;
  }

  /** True when Redis is configured and connected (until close()). */
  get initialized(): boolean {
    return this.#state === 'ready' && this.#clients !== undefined;
  }

  /**
   * Connects the configured clients and checks each with PING. Resolves to undefined when no Redis URL is set
   * (Redis is optional). Calling it again returns the same clients.
   */
  init(options: RedisManagerOptions = {}): Promise<RedisClients | undefined> {
    try {
      checkOptions(options, REDIS_MANAGER_OPTIONS, 'initRedis()');
    } catch (err) {
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion -- checkOptions throws ConfigError
      return Promise.reject(err as Error);
    }
    if (this.#state === 'ready') return Promise.resolve(this.#clients);
    if (this.#initializing) return this.#initializing;
    const start = async (): Promise<RedisClients | undefined> => {
      if (this.#closing) await this.#closing;
      return this.#init({ ...this.#options, ...options });
    };
    this.#initializing = start().finally(() => {
      this.#initializing = undefined;
    });
    return this.#initializing;
  }

  async #init(options: RedisManagerOptions): Promise<RedisClients | undefined> {
    this.#state = 'initializing';
    this.#closing = undefined;
    const { url, writeUrl, readUrl } = options;
    const config = resolveRedisConfig({ url, writeUrl, readUrl });
    this.#config = config;
    if (config.writeUrl === undefined) {
      this.#state = 'ready';
      this.#clients = undefined;
      return undefined;
    }
    const opened: Redis[] = [];
    try {
      const write = await this.#connect(config.writeUrl, options);
      opened.push(write);
      const read = config.readUrl === undefined ? write : await this.#connect(config.readUrl, options);
      opened.push(read);
      this.#clients = { write, read };
      this.#state = 'ready';
      return this.#clients;
    } catch (err) {
      opened.forEach((c) => c.disconnect());
      this.#state = 'idle';
      throw err;
    }
  }

  async #connect(url: string, options: RedisManagerOptions): Promise<Redis> {
    const connectTimeout = options.connectTimeout ?? 10_000;
    const attempts = (options.connectRetries ?? 2) + 1;
    const display = maskUrl(url);
    for (let attempt = 1; ; attempt++) {
      const client = new Redis(url, {
        lazyConnect: true,
        connectTimeout,
        connectionName: options.connectionName ?? 'spfn',
        // Commands issued while the server is away fail after one reconnection try instead of hanging.
        maxRetriesPerRequest: 1,
        retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 3000),
      });
      // Without a listener ioredis prints every reconnection failure; log it once per state change instead.
      let lastError: string | undefined;
      client.on('error', (err: unknown) => {
        const message = reason(err);
        if (message !== lastError) log.warn({ url: display, reason: message }, 'redis connection error');
        lastError = message;
      });
      client.on('ready', () => {
        if (lastError !== undefined) log.info({ url: display }, 'redis reconnected');
        lastError = undefined;
      });
      try {
        await timeout(client.connect(), connectTimeout, `no answer within ${connectTimeout} ms`);
        await timeout(client.ping(), connectTimeout, `no PING answer within ${connectTimeout} ms`);
        log.info({ url: display }, 'redis connected');
        return client;
      } catch (err) {
        client.disconnect();
        // ioredis rejects connect() with "Connection is closed."; the socket error said why.
        const why = lastError ?? reason(err);
        if (attempt >= attempts) {
          throw new ConnectionError(
            `Could not connect to Redis at ${display} after ${attempt} attempt${attempt > 1 ? 's' : ''}: ${why}`,
          );
        }
        log.warn({ url: display, attempt, reason: why }, 'redis connection failed; retrying');
        await new Promise((r) => setTimeout(r, 250 * 2 ** (attempt - 1)));
      }
    }
  }

  /** The write client, or the read client (the write one when there is no REDIS_READ_URL). */
  get(role: 'write' | 'read' = 'write'): Redis {
    const clients = this.#clients;
    if (this.#state !== 'ready' || !clients) {
      throw new RedisNotInitializedError(
        this.#state === 'ready' ? 'Redis is not configured: set REDIS_URL (or pass redis.url)' : undefined,
      );
    }
    return role === 'read' ? clients.read : clients.write;
  }

  /** The client, or undefined when Redis is not configured or not initialized. */
  tryGet(role: 'write' | 'read' = 'write'): Redis | undefined {
    return this.#state === 'ready' ? (role === 'read' ? this.#clients?.read : this.#clients?.write) : undefined;
  }

  /** PINGs each client with a bound; an empty list when Redis is not configured. */
  async health(timeoutMs = 2000): Promise<RedisHealth[]> {
    const clients = this.#clients;
    const config = this.#config;
    if (this.#state !== 'ready' || !clients || !config?.writeUrl) return [];
    const targets: [RedisHealth['name'], Redis, string][] = [['write', clients.write, config.writeUrl]];
    if (clients.read !== clients.write && config.readUrl) targets.push(['read', clients.read, config.readUrl]);
    return Promise.all(
      targets.map(async ([name, client, url]) => {
        const started = performance.now();
        try {
          if (client.status !== 'ready') throw new Error(`connection is ${client.status}`);
          await timeout(client.ping(), timeoutMs, `no PING answer within ${timeoutMs} ms`);
          return { name, url: maskUrl(url), healthy: true, latencyMs: performance.now() - started, error: undefined };
        } catch (err) {
          return { name, url: maskUrl(url), healthy: false, latencyMs: undefined, error: reason(err) };
        }
      }),
    );
  }

  /** Sends QUIT to every client and waits at most `closeTimeout` ms before dropping the socket. Safe twice. */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    if ((this.#state === 'idle' || this.#state === 'closed') && !this.#initializing) return Promise.resolve();
    this.#closing = this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (this.#initializing) await this.#initializing.catch(() => undefined);
    this.#state = 'closing';
    const clients = this.#clients;
    this.#clients = undefined;
    if (clients) {
      const all = clients.read === clients.write ? [clients.write] : [clients.write, clients.read];
      const wait = this.#options.closeTimeout ?? 2000;
      await Promise.all(
        all.map(async (client) => {
          try {
            if (client.status === 'ready') await timeout(client.quit(), wait, 'QUIT timed out');
          } catch {
            // Dropping the socket below is the fallback.
          } finally {
            client.disconnect();
          }
        }),
      );
    }
    this.#state = 'closed';
  }
}
