export { createLogger, getLogger, logger, setLogger, type CreateLoggerOptions, type Logger } from './logger.js';
export { maskUrl, redactSecrets } from './redact.js';
