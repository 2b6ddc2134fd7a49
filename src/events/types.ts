/** Which pool an event concerns: the primary or a replica (`replica:0`, `replica:1`, …, or `embedded`). */
export type PoolName = string;

/** Payloads of every database event, by event name. */
export interface DatabaseEvents {
  'connection:open': { pool: PoolName; url: string; durationMs: number };
  'connection:close': { pool: PoolName; url: string };
  'connection:error': { pool: PoolName; url: string; code: string; message: string; attempt?: number };
  'replica:down': { pool: PoolName; url: string; reason: string; healthyReplicas: number };
  'replica:up': { pool: PoolName; url: string; healthyReplicas: number };
  'query:slow': QueryEventPayload;
  'query:error': QueryEventPayload & { code: string; sqlState?: string | undefined };
  'query:n+1': { shape: string; count: number; txId?: string | undefined; route?: string | undefined };
  'transaction:start': {
    txId: string;
    name?: string | undefined;
    isolationLevel?: string | undefined;
    readOnly: boolean;
  };
  'transaction:commit': { txId: string; name?: string | undefined; durationMs: number };
  'transaction:rollback': {
    txId: string;
    name?: string | undefined;
    durationMs: number;
    reason: 'error' | 'timeout';
    error?: string | undefined;
  };
  'transaction:slow': { txId: string; name?: string | undefined; route?: string | undefined; durationMs: number };
  'pool:timeout': { pool: PoolName; timeoutMs: number; active: number; idle: number; waiting: number; max: number };
  'migration:applied': { name: string; durationMs: number };
  'health:change': { pool: PoolName; url: string; healthy: boolean; reason?: string | undefined };
}

/** A query event: never parameter values. */
export interface QueryEventPayload {
  /** The repository operation (`findById`, …) or `query` for plain Drizzle. */
  operation: string;
  /** The table, when known. */
  table?: string | undefined;
  durationMs: number;
  role: 'primary' | 'replica' | 'embedded';
  txId?: string | undefined;
  /** The SQL text with placeholders ($1, $2…), never values. */
  sql?: string | undefined;
}

export type DatabaseEventName = keyof DatabaseEvents;
export type DatabaseEventListener<E extends DatabaseEventName> = (payload: DatabaseEvents[E]) => unknown;
