import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { sql } from 'drizzle-orm';
import { bigint, pgTable, text } from 'drizzle-orm/pg-core';
import { Hono } from 'hono';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { closeDatabase, getDatabase, getRepository, initDatabase, transaction, Transactional } from '@spfn/core/db';
import { SerializationError, TransactionTimeoutError } from '@spfn/core/errors';
import { logger } from '@spfn/core/logger';
import { captureLogs } from '../helpers/log-capture.js';
import { createTestDatabase, expectNoLeaksThenDrop, type TestDatabase } from '../helpers/pg.js';

const users = pgTable('users', {
  id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  email: text('email').notNull().unique(),
  name: text('name').notNull(),
});

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const contextManager = new AsyncLocalStorageContextManager();
let t: TestDatabase;

const EMAIL = 'span-secret-4711@example.com';

/** What an HTTP instrumentation (`@hono/otel`, the Node http instrumentation) does: a SERVER span per request. */
function tracedApp(): Hono {
  const tracer = trace.getTracer('test-http');
  const app = new Hono();
  app.use('*', async function httpServerSpan(c, next) {
    const span = tracer.startSpan(`${c.req.method} ${c.req.path}`, { kind: SpanKind.SERVER });
    try {
      await context.with(trace.setSpan(context.active(), span), next);
    } finally {
      span.setAttribute('http.response.status_code', c.res.status);
      span.end();
    }
  });
  app.post('/signup', Transactional(), async (c) => {
    const body = await c.req.json<{ email: string }>();
    const repo = getRepository(users);
    const user = await repo.save({ email: body.email, name: 'Ann' });
    await repo.findById(user.id);
    await getDatabase().execute(sql`select count(*) from users where email = ${body.email}`);
    return c.json(user, 201);
  });
  return app;
}

const byName = (spans: ReadableSpan[], name: string): ReadableSpan => {
  const found = spans.filter((s) => s.name === name);
  expect(
    found.map((s) => s.name),
    `one span named ${name}`,
  ).toEqual([name]);
  return found[0]!;
};
const parentOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId;
const idOf = (span: ReadableSpan): string => span.spanContext().spanId;
/** Everything a span shows a tracing backend. */
const shown = (spans: ReadableSpan[]): string =>
  JSON.stringify(spans.map((s) => ({ n: s.name, a: s.attributes, e: s.events, st: s.status })));

beforeAll(async () => {
  context.setGlobalContextManager(contextManager.enable());
  trace.setGlobalTracerProvider(provider);
  t = await createTestDatabase('tracing');
  await t.sql`create table users (id bigint generated always as identity primary key, email text unique not null, name text not null)`;
  await initDatabase({ url: t.url, applicationName: t.appName, healthCheck: { enabled: false } });
});

beforeEach(() => exporter.reset());

afterAll(async () => {
  await closeDatabase();
  trace.disable();
  context.disable();
  await provider.shutdown();
  await expectNoLeaksThenDrop(t);
});

describe('OpenTelemetry spans', () => {
  it('traces a Transactional request: transaction under the request span, repository calls, statements', async () => {
    const res = await tracedApp().request('/signup', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: EMAIL }),
    });
    expect(res.status).toBe(201);
    const spans = exporter.getFinishedSpans();

    const http = byName(spans, 'POST /signup');
    const tx = byName(spans, 'transaction POST /signup');
    expect(parentOf(tx)).toBe(idOf(http));
    expect(tx.spanContext().traceId).toBe(http.spanContext().traceId);
    expect(tx.attributes).toMatchObject({
      'db.system': 'postgresql',
      'spfn.transaction.outcome': 'commit',
      'spfn.transaction.route': 'POST /signup',
    });
    expect(tx.attributes['spfn.transaction.id']).toEqual(expect.any(String));
    expect(tx.status.code).toBe(SpanStatusCode.UNSET);

    const save = byName(spans, 'users.save');
    const find = byName(spans, 'users.findById');
    for (const call of [save, find]) {
      expect(parentOf(call)).toBe(idOf(tx));
      expect(call.kind).toBe(SpanKind.INTERNAL);
      expect(call.attributes).toMatchObject({ 'db.collection.name': 'users', 'db.system.name': 'postgresql' });
    }

    const insert = byName(spans, 'INSERT users');
    expect(parentOf(insert)).toBe(idOf(save));
    expect(insert.kind).toBe(SpanKind.CLIENT);
    expect(insert.attributes).toMatchObject({
      'db.system': 'postgresql',
      'db.system.name': 'postgresql',
      'db.operation.name': 'INSERT',
      'db.collection.name': 'users',
      'db.namespace': t.name,
      'server.address': '127.0.0.1',
      'server.port': 5432,
    });
    expect(insert.attributes['db.query.text']).toMatch(/^insert into "users" .*\$1/);

    const selects = spans.filter((s) => s.name === 'SELECT users');
    expect(selects.map(parentOf).sort()).toEqual([idOf(find), idOf(tx)].sort());
    // BEGIN and COMMIT belong to the transaction span, not to statement spans of their own.
    expect(spans.map((s) => s.name).sort()).toEqual(
      [
        'POST /signup',
        'transaction POST /signup',
        'users.save',
        'INSERT users',
        'users.findById',
        'SELECT users',
        'SELECT users',
      ].sort(),
    );
    expect(shown(spans)).not.toContain(EMAIL);
  });

  it('marks a unique violation as an error on the statement, the repository call and the transaction', async () => {
    const res = await tracedApp().request('/signup', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: EMAIL }),
    });
    expect(res.status).toBe(409);
    const spans = exporter.getFinishedSpans();
    const insert = byName(spans, 'INSERT users');
    expect(insert.status.code).toBe(SpanStatusCode.ERROR);
    expect(insert.attributes).toMatchObject({
      'db.response.status_code': '23505',
      'error.type': '23505',
      'spfn.error.code': 'UNIQUE_VIOLATION',
    });
    expect(byName(spans, 'users.save').status.code).toBe(SpanStatusCode.ERROR);
    const tx = byName(spans, 'transaction POST /signup');
    expect(tx.status.code).toBe(SpanStatusCode.ERROR);
    expect(tx.attributes['spfn.transaction.outcome']).toBe('rollback');
    // PostgreSQL's detail ("Key (email)=(…) already exists") never reaches a span.
    expect(shown(spans)).not.toContain(EMAIL);
    expect(shown(spans)).not.toContain('already exists');
  });

  it('replaces literals in SQL text with ? and keeps parameters as $n', async () => {
    await getDatabase().execute(
      sql.raw(`select * from "users" where email = 'literal-${EMAIL}' and id > 42 and name = $$dollar$$`),
    );
    await getDatabase().execute(sql`select * from users where email = ${EMAIL} and id > 42`);
    const [raw, bound] = exporter.getFinishedSpans();
    expect(raw!.attributes['db.query.text']).toBe('select * from "users" where email = ? and id > ? and name = ?');
    expect(bound!.attributes['db.query.text']).toBe('select * from users where email = $1 and id > ?');
    expect(shown(exporter.getFinishedSpans())).not.toContain(EMAIL);
  });

  it('ends a timed-out transaction with outcome timeout', async () => {
    await expect(
      transaction(() => getDatabase().execute(sql`select pg_sleep(2)`), { name: 'slow-report', timeout: 150 }),
    ).rejects.toBeInstanceOf(TransactionTimeoutError);
    const spans = exporter.getFinishedSpans();
    const tx = byName(spans, 'transaction slow-report');
    expect(tx.attributes['spfn.transaction.outcome']).toBe('timeout');
    expect(tx.status.code).toBe(SpanStatusCode.ERROR);
    const sleep = byName(spans, 'SELECT');
    expect(parentOf(sleep)).toBe(idOf(tx));
    expect(sleep.attributes['error.type']).toBe('57014');
  });

  it('keeps one transaction span across retries, with the retry count and an event per retry', async () => {
    let attempts = 0;
    await transaction(
      async () => {
        await getDatabase().execute(sql`select 1`);
        if (++attempts === 1) throw new SerializationError('could not serialize access', { sqlState: '40001' });
      },
      { name: 'transfer', retry: { attempts: 3, baseDelay: 1 } },
    );
    const spans = exporter.getFinishedSpans();
    const tx = byName(spans, 'transaction transfer');
    expect(tx.attributes).toMatchObject({ 'spfn.transaction.outcome': 'commit', 'spfn.transaction.retries': 1 });
    expect(tx.events.map((e) => [e.name, e.attributes?.['error.type']])).toEqual([['retry', '40001']]);
    // Both attempts' statements are its children.
    expect(spans.filter((s) => s.name === 'SELECT').map(parentOf)).toEqual([idOf(tx), idOf(tx)]);
  });

  it('puts trace_id and span_id on log lines written under a span, and none outside', () => {
    const logs = captureLogs('info');
    const span = trace.getTracer('test').startSpan('job');
    context.with(trace.setSpan(context.active(), span), () => logger.child('jobs').info('inside'));
    span.end();
    logger.child('jobs').info('outside');
    const [inside, outside] = logs.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(inside).toMatchObject({
      msg: 'inside',
      trace_id: span.spanContext().traceId,
      span_id: span.spanContext().spanId,
    });
    expect(inside!.trace_flags).toBe('01');
    expect(outside).not.toHaveProperty('trace_id');
  });
});

describe('when spans are recorded', () => {
  it('decides at init: no SDK registered means no spans; `tracing: false` turns them off; a provider can be passed', async () => {
    await closeDatabase();
    trace.disable();
    const options = { url: t.url, applicationName: t.appName, healthCheck: { enabled: false } };
    await initDatabase(options);
    // Registered after init: this database keeps running without spans.
    trace.setGlobalTracerProvider(provider);
    await getRepository(users).findMany({ limit: 1 });
    await transaction(() => getDatabase().execute(sql`select 1`));
    expect(exporter.getFinishedSpans()).toEqual([]);

    await closeDatabase();
    await initDatabase({ ...options, tracing: false });
    await getDatabase().execute(sql`select 1`);
    expect(exporter.getFinishedSpans()).toEqual([]);

    await closeDatabase();
    trace.disable();
    await initDatabase({ ...options, tracing: { tracerProvider: provider } });
    await getRepository(users).findMany({ limit: 1 });
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['SELECT users', 'users.findMany']);
    expect(exporter.getFinishedSpans()[0]!.instrumentationScope.name).toBe('@spfn/core');
  });
});
