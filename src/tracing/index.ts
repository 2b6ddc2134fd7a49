export { describeStatement, sanitizeSql, type StatementInfo } from './sql.js';
export {
  endStatementSpan,
  recordFailure,
  serverAttributes,
  startStatementSpan,
  traceRepositoryCall,
  traceTransaction,
  type TransactionSpanInfo,
} from './spans.js';
export { resolveTracer, tracingRegistered, TRACER_NAME, TRACING_OPTIONS_RULE, type TracingOptions } from './tracer.js';
