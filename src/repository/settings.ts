import { checkOptions } from '../config/index.js';
import { ConfigError } from '../errors/index.js';
import { REPOSITORY_OPTIONS } from './options.js';

/** Settings shared by every repository. */
export interface RepositorySettings {
  /** Largest `limit` / page `size` accepted; larger is an InvalidQueryError. Default 1000. */
  maxLimit: number;
  /** Page size of `findPage` when none is given. Default 20. */
  defaultPageSize: number;
  /**
   * The same query shape run more than this many times in one request or transaction is reported once as a
   * possible N+1 (`query:n+1` event and a warning). 0 turns the detector off. Default 10.
   */
  nPlusOneThreshold: number;
}

const settings: RepositorySettings = { maxLimit: 1000, defaultPageSize: 20, nPlusOneThreshold: 10 };

/** The current repository settings. @internal */
export function repositorySettings(): Readonly<RepositorySettings> {
  return settings;
}

/**
 * Changes the settings of every repository (see {@link RepositorySettings} for the defaults).
 *
 * @example
 * ```ts
 * configureRepositories({ maxLimit: 500, nPlusOneThreshold: 20 });
 * ```
 */
export function configureRepositories(options: Partial<RepositorySettings>): Readonly<RepositorySettings> {
  checkOptions(options, REPOSITORY_OPTIONS.settings, 'configureRepositories()');
  for (const key of ['maxLimit', 'defaultPageSize', 'nPlusOneThreshold'] as const) {
    const value = options[key];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < (key === 'nPlusOneThreshold' ? 0 : 1)) {
      throw new ConfigError(key, 'must be a positive integer');
    }
    settings[key] = value;
  }
  if (settings.defaultPageSize > settings.maxLimit) settings.defaultPageSize = settings.maxLimit;
  return settings;
}
