import { is, LIMITS, MAX_MILLISECONDS, within, type ShapeOf } from '../config/index.js';
import type { RetryOptions, TransactionOptions } from './types.js';

/** @internal */
export const ISOLATION_LEVELS = ['read uncommitted', 'read committed', 'repeatable read', 'serializable'];
const ATTEMPTS = is.integer(1, 100);

/**
 * `TransactionOptions`, checked before anything reaches the database: the timeout is an integer from 0 to
 * 2000000000 ms (0 disables), so no option value can become SQL text in the BEGIN script.
 * @internal
 */
export const TRANSACTION_OPTIONS = {
  propagation: is.oneOf(['required', 'requires_new', 'nested']),
  isolationLevel: is.oneOf(ISOLATION_LEVELS),
  readOnly: is.boolean,
  deferReads: is.boolean,
  timeout: within(LIMITS['transaction.timeout']),
  retry: is.anyOf(
    'true/false, a number of attempts from 1 to 100, or { attempts, baseDelay, maxDelay }',
    is.boolean,
    ATTEMPTS,
    is.object({
      attempts: ATTEMPTS,
      baseDelay: is.integer(0, MAX_MILLISECONDS, 'milliseconds'),
      maxDelay: is.integer(0, MAX_MILLISECONDS, 'milliseconds'),
    } satisfies ShapeOf<RetryOptions>),
  ),
  name: is.string,
  route: is.string,
  signal: (value, key, fail) => {
    if (!(value instanceof AbortSignal)) fail(key, 'expected an AbortSignal');
  },
} satisfies ShapeOf<TransactionOptions>;
