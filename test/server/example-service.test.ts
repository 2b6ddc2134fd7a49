import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onPglite } from '../helpers/backend.js';
import { createTestDatabase, waitFor, type TestDatabase } from '../helpers/pg.js';
import { parsePrometheus } from '../helpers/prometheus.js';
import { call, startService, type JsonBody, type ServiceProcess } from '../helpers/service.js';

let db: TestDatabase | undefined;
let service: ServiceProcess;

beforeAll(async () => {
  if (onPglite) {
    // No DATABASE_URL: the service runs on its embedded database, in memory.
    service = await startService({ PGLITE_DATA_DIR: 'memory://' });
    return;
  }
  db = await createTestDatabase('example');
  service = await startService({ DATABASE_URL: db.url, DB_APPLICATION_NAME: db.appName });
});

/**
 * What the database holds, seen from outside the service: an admin connection on the server; on PGlite, whose
 * database lives inside the service process, its HTTP API is the only window.
 */
const outside = {
  async tables(): Promise<string[]> {
    if (db) {
      const rows = await db.sql<{ table_name: string }[]>`
        select table_name from information_schema.tables where table_schema = 'public' order by table_name`;
      return rows.map((t) => t.table_name);
    }
    const [users, posts] = await Promise.all([
      call(service, 'GET', '/users?size=1'),
      call(service, 'GET', '/posts?size=1'),
    ]);
    return [posts.status === 200 ? 'posts' : '', users.status === 200 ? 'users' : ''].filter(Boolean).sort();
  },
  async userName(id: number): Promise<string | undefined> {
    if (db) return (await db.sql<{ name: string }[]>`select name from users where id = ${id}`)[0]?.name;
    return ((await call(service, 'GET', `/users/${id}`)).body as { name?: string }).name;
  },
  async userCount(): Promise<number> {
    if (db) return (await db.sql<{ total: number }[]>`select count(*)::int as total from users`)[0]!.total;
    let total = 0;
    for (let page = 1; ; page++) {
      const res = await call(service, 'GET', `/users?page=${page}&size=100`);
      total += (res.body.data as unknown[]).length;
      if (page >= (res.body.meta.totalPages as number)) return total;
    }
  },
  async rowCount(): Promise<number> {
    if (db) {
      const [row] = await db.sql<{ n: number }[]>`
        select (select count(*) from users)::int + (select count(*) from posts)::int as n`;
      return row!.n;
    }
    const [users, posts] = await Promise.all([
      call(service, 'GET', '/users?size=1'),
      call(service, 'GET', '/posts?size=1'),
    ]);
    return (users.body.meta.total as number) + (posts.body.meta.total as number);
  },
  async usersWithEmail(email: string): Promise<number> {
    if (db) return (await db.sql`select 1 from users where email = ${email}`).length;
    let n = 0;
    for (let page = 1; ; page++) {
      const res = await call(service, 'GET', `/users?page=${page}&size=100`);
      n += (res.body.data as { email: string }[]).filter((u) => u.email === email).length;
      if (page >= (res.body.meta.totalPages as number)) return n;
    }
  },
  async userWithPost(email: string): Promise<number> {
    if (db) {
      const rows = await db.sql`
        select u.id from users u join posts p on p.author_id = u.id where u.email = ${email}`;
      return rows.length;
    }
    let n = 0;
    for (let page = 1; ; page++) {
      const res = await call(service, 'GET', `/users?page=${page}&size=100`);
      for (const u of res.body.data as { id: number; email: string }[]) {
        if (u.email === email) n += (await call(service, 'GET', `/users/${u.id}/posts?size=100`)).body.data.length;
      }
      if (page >= (res.body.meta.totalPages as number)) return n;
    }
  },
};

afterAll(async () => {
  if (service) {
    service.child.kill('SIGTERM');
    const exit = await service.exited;
    expect(exit.code).toBe(0);
  }
  const server = db;
  if (server) {
    expect(await waitFor(async () => (await server.leaks()).length === 0, 5000)).toBe(true);
    await server.drop();
  }
});

describe('the example service over HTTP', () => {
  it('applied its migrations and loaded the seed server.config.ts', async () => {
    expect(await outside.tables()).toEqual(['posts', 'users']);
    const metrics = parsePrometheus((await call(service, 'GET', '/metrics')).body as string);
    // pool.max 50 comes only from examples/service/server.config.ts (the default is 10); the embedded database
    // has one session whatever the setting, so there the config file shows only in the log.
    if (db) expect(metrics.sum('spfn_db_pool_max_connections', { pool: 'primary' })).toBe(50);
    else expect(service.output()).toContain('server.config');
  });

  it('creates, reads, updates and deletes users and posts', async () => {
    const created = await call(service, 'POST', '/users', { email: 'ada@example.com', name: 'Ada' });
    expect(created.status).toBe(201);
    const id = created.body.id as number;
    expect(created.body).toMatchObject({ email: 'ada@example.com', name: 'Ada' });

    expect((await call(service, 'GET', `/users/${id}`)).body).toMatchObject({ id, name: 'Ada' });
    const renamed = await call(service, 'PATCH', `/users/${id}`, { name: 'Ada L.' });
    expect(renamed.status).toBe(200);
    expect(renamed.body.name).toBe('Ada L.');
    expect(await outside.userName(id)).toBe('Ada L.');

    const post = await call(service, 'POST', '/posts', { authorId: id, title: 'Notes', body: 'on engines' });
    expect(post.status).toBe(201);
    const withAuthor = await call(service, 'GET', `/posts/${post.body.id}`);
    expect(withAuthor.body).toMatchObject({ title: 'Notes', author: { id, name: 'Ada L.' } });
    expect((await call(service, 'PATCH', `/posts/${post.body.id}`, { title: 'Notes II' })).body.title).toBe('Notes II');

    // The author has a post: deleting her is a foreign-key conflict.
    const blocked = await call(service, 'DELETE', `/users/${id}`);
    expect(blocked.status).toBe(409);
    expect(blocked.body.error.code).toBe('FOREIGN_KEY_VIOLATION');

    expect((await call(service, 'DELETE', `/posts/${post.body.id}`)).status).toBe(204);
    expect((await call(service, 'GET', `/posts/${post.body.id}`)).status).toBe(404);
    expect((await call(service, 'DELETE', `/users/${id}`)).status).toBe(204);
    expect((await call(service, 'GET', `/users/${id}`)).status).toBe(404);
    expect(await outside.userName(id)).toBeUndefined();
  });

  it('pages users and an author’s posts with totals', async () => {
    const author = await call(service, 'POST', '/users', { email: 'pager@example.com', name: 'Pager' });
    for (let i = 1; i <= 23; i++) {
      const res = await call(service, 'POST', '/posts', { authorId: author.body.id, title: `Post ${i}` });
      expect(res.status).toBe(201);
    }
    const first = await call(service, 'GET', `/users/${author.body.id}/posts?page=1&size=10`);
    expect(first.body.meta).toEqual({ page: 1, size: 10, total: 23, totalPages: 3 });
    expect(first.body.data.map((p: { title: string }) => p.title)[0]).toBe('Post 23');
    const last = await call(service, 'GET', `/users/${author.body.id}/posts?page=3&size=10`);
    expect(last.body.data.map((p: { title: string }) => p.title)).toEqual(['Post 3', 'Post 2', 'Post 1']);
    const beyond = await call(service, 'GET', `/users/${author.body.id}/posts?page=4&size=10`);
    expect(beyond.body.data).toEqual([]);
    expect((await call(service, 'GET', '/users?size=1000')).status).toBe(400);
    const users = await call(service, 'GET', '/users?size=1');
    expect(users.body.meta.total).toBe(await outside.userCount());
  });

  it('maps database errors to HTTP statuses', async () => {
    await call(service, 'POST', '/users', { email: 'dup@example.com', name: 'Dup' });
    const duplicate = await call(service, 'POST', '/users', { email: 'dup@example.com', name: 'Dup 2' });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.error.code).toBe('UNIQUE_VIOLATION');
    const missing = await call(service, 'POST', '/users', { email: 'noname@example.com' });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toMatchObject({ code: 'VALIDATION_ERROR', message: expect.stringContaining('name') });
    const orphan = await call(service, 'POST', '/posts', { authorId: 987654321, title: 'x' });
    expect(orphan.status).toBe(409);
    expect(orphan.body.error.code).toBe('FOREIGN_KEY_VIOLATION');
    expect((await call(service, 'GET', '/users/987654321')).status).toBe(404);
    expect((await call(service, 'GET', '/users/abc')).status).toBe(400);
    // A transaction past its deadline: 504 and its write rolled back; on the server the sleeping statement is
    // cancelled, on PGlite it ends first (no cancel there), so it sleeps 1.5 s rather than 5.
    const ms = onPglite ? 1500 : 5000;
    const late = await call(service, 'GET', `/demo/slow?ms=${ms}&timeout=300&email=late@example.com`);
    expect(late.status).toBe(504);
    // The JS deadline and the server's statement_timeout race; whichever answers first, it is the deadline.
    expect(late.body.error.code).toBe('TRANSACTION_TIMEOUT');
    expect(await outside.usersWithEmail('late@example.com')).toBe(0);
    if (db) {
      const sleeping = await db.sql`
        select pid from pg_stat_activity where application_name = ${db.appName} and query like '%pg_sleep%'
          and state = 'active'`;
      expect(sleeping.length).toBe(0);
    }
    // A value that does not fit its column is the caller's error (400), never echoed back: the example's own
    // validation refuses it before the database sees it (the database's class-22 answer, INVALID_INPUT, is covered
    // by test/errors/sqlstate-matrix.test.ts and the Transactional HTTP suite).
    const bad = await call(service, 'POST', '/posts', { authorId: 'abc-zq-9', title: 'x' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('VALIDATION_ERROR');
    expect(JSON.stringify(bad.body)).not.toContain('zq-9');
  });

  it('refuses wrong types, unknown fields and over-long text with a 400 naming the field; stores nothing', async () => {
    const before = await outside.rowCount();
    const author = (await call(service, 'POST', '/users', { email: 'validated@example.com', name: 'V' })).body.id;
    const refusals: [string, string, unknown, string][] = [
      ['POST', '/users', { email: 123, name: 'x' }, 'email'],
      ['POST', '/users', { email: { a: 1 }, name: 'x' }, 'email'],
      ['POST', '/users', { email: 'not-an-email', name: 'x' }, 'email'],
      [
        'POST',
        '/users',
        { email: 'x@example.com', name: 'x', admin: true },
        'body: unknown field (accepted: email, name)',
      ],
      ['POST', '/users', { email: 'x@example.com', name: 'n'.repeat(101) }, 'name'],
      ['POST', '/users', { email: `${'a'.repeat(250)}@example.com`, name: 'x' }, 'email'],
      ['POST', '/users', [{ email: 'x@example.com', name: 'x' }], 'body'],
      ['POST', '/posts', { authorId: author, title: 42 }, 'title'],
      ['POST', '/posts', { authorId: String(author), title: 'x' }, 'authorId'],
      ['POST', '/posts', { authorId: author, title: 't'.repeat(201) }, 'title'],
      [
        'POST',
        '/posts',
        { authorId: author, title: 'x', id: 1 },
        'body: unknown field (accepted: authorId, title, body)',
      ],
      ['PATCH', `/users/${author}`, { email: null }, 'email'],
      ['PATCH', `/users/${author}`, {}, 'body'],
      ['PATCH', `/posts/1`, { authorId: 2 }, 'body: unknown field (accepted: title, body)'],
      ['POST', '/signup', { user: { email: 'x@example.com', name: 1 }, post: { title: 'x' } }, 'user.name'],
      ['GET', '/posts?page=0x10', undefined, 'page'],
      ['GET', '/posts?page=1e3', undefined, 'page'],
      ['GET', '/posts?page=0', undefined, 'page'],
      ['GET', '/posts?size=101', undefined, 'size'],
      ['GET', '/posts?pgae=2', undefined, 'query: unknown field (accepted: page, size)'],
      ['GET', '/posts?page=1&page=2', undefined, 'page'],
      ['GET', '/users/1.5', undefined, 'id:'],
      ['GET', '/users/0x10', undefined, 'id:'],
    ];
    for (const [method, path, body, field] of refusals) {
      const res = await call(service, method, path, body);
      expect(res.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/json');
      expect(Object.keys(res.body)).toEqual(['error']);
      expect(Object.keys(res.body.error).sort()).toEqual(['code', 'message']);
      expect(res.body.error.code).toBe('VALIDATION_ERROR');
      expect(res.body.error.message).toContain(field.includes(':') ? field : `${field}:`);
      expect(res.body.error.message).not.toMatch(/admin|pgae/); // an unknown key is not repeated back
    }
    expect(await outside.rowCount()).toBe(before + 1);
    expect((await outside.usersWithEmail('123')) + (await outside.usersWithEmail('[object Object]'))).toBe(0);
  });

  it('answers every error of its own as JSON: bad JSON, wrong media type, unknown route, missing row', async () => {
    const raw = async (method: string, path: string, body?: string, type?: string) => {
      const res = await fetch(`${service.url}${path}`, {
        method,
        headers: type ? { 'content-type': type } : {},
        ...(body === undefined ? {} : { body }),
      });
      return { status: res.status, type: res.headers.get('content-type'), body: (await res.json()) as JsonBody };
    };
    const cases: [Promise<{ status: number; type: string | null; body: JsonBody }>, number, string][] = [
      [raw('POST', '/users', '{"email":', 'application/json'), 400, 'INVALID_JSON'],
      [raw('POST', '/users', 'email=a@b.c', 'application/x-www-form-urlencoded'), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      [raw('POST', '/users', '{"email":"a@b.c","name":"x"}'), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      [raw('GET', '/no/such/route'), 404, 'NOT_FOUND'],
      [raw('GET', '/users/987654321'), 404, 'NOT_FOUND'],
      [raw('PATCH', '/posts/987654321', '{"title":"x"}', 'application/json'), 404, 'NOT_FOUND'],
      [raw('DELETE', '/posts/987654321'), 404, 'NOT_FOUND'],
    ];
    for (const [pending, status, code] of cases) {
      const res = await pending;
      expect(res.status).toBe(status);
      expect(res.type).toContain('application/json');
      expect(res.body).toEqual({ error: { code, message: expect.any(String) } });
    }
  });

  it('rolls back both writes of the transactional route when the second one fails', async () => {
    const refused = await call(service, 'POST', '/signup', {
      user: { email: 'rollback@example.com', name: 'Ro' },
      post: { title: '   ' },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('CHECK_VIOLATION');
    expect(await outside.usersWithEmail('rollback@example.com')).toBe(0);

    const ok = await call(service, 'POST', '/signup', {
      user: { email: 'rollback@example.com', name: 'Ro' },
      post: { title: 'Hello' },
    });
    expect(ok.status).toBe(201);
    expect(await outside.userWithPost('rollback@example.com')).toBe(1);
  });

  it('serves /metrics as Prometheus text whose counters move with traffic', async () => {
    const before = parsePrometheus((await call(service, 'GET', '/metrics')).body as string);
    expect(before.types.get('spfn_db_queries_total')).toBe('counter');
    expect(before.types.get('spfn_db_query_duration_seconds')).toBe('histogram');
    expect(before.types.get('spfn_db_pool_active_connections')).toBe('gauge');
    for (const kind of ['pool_acquire', 'transaction', 'query']) {
      expect(before.samples.some((s) => s.name === 'spfn_db_timeouts_total' && s.labels.kind === kind)).toBe(true);
    }

    for (let i = 0; i < 5; i++) await call(service, 'POST', '/users', { email: `m${i}@example.com`, name: 'M' });
    await call(service, 'POST', '/signup', { user: { email: 'm-tx@example.com', name: 'T' }, post: { title: 'T' } });
    await call(service, 'POST', '/signup', { user: { email: 'm-tx2@example.com', name: 'T' }, post: { title: ' ' } });

    const after = parsePrometheus((await call(service, 'GET', '/metrics')).body as string);
    const moved = (name: string, match?: Record<string, string>): number =>
      after.sum(name, match) - before.sum(name, match);
    expect(moved('spfn_db_queries_total', { outcome: 'ok' })).toBeGreaterThanOrEqual(7);
    expect(moved('spfn_db_queries_total', { outcome: 'error' })).toBeGreaterThanOrEqual(1);
    expect(moved('spfn_db_query_duration_seconds_count')).toBe(moved('spfn_db_queries_total'));
    expect(moved('spfn_db_transactions_total', { outcome: 'commit' })).toBe(1);
    expect(moved('spfn_db_transactions_total', { outcome: 'rollback' })).toBe(1);
    expect(moved('spfn_db_transaction_duration_seconds_count')).toBe(2);
    expect(moved('spfn_http_requests_total', { method: 'POST', status: '201' })).toBe(6);
    expect(moved('spfn_http_requests_total', { method: 'POST', status: '400' })).toBe(1);
    expect(after.sum('spfn_db_pool_healthy', { pool: db ? 'primary' : 'embedded' })).toBe(1);
  });

  it('answers liveness and readiness per part', async () => {
    expect((await call(service, 'GET', '/health')).body).toEqual({ status: 'ok' });
    const ready = await call(service, 'GET', '/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('ready');
    expect(ready.body.checks.database.primary).toMatchObject({ name: db ? 'primary' : 'embedded', status: 'up' });
    if (db) expect(ready.body.checks.database.primary.url).not.toContain('@127.0.0.1:5432/' + db.name + '?');
    expect(ready.body.checks.redis).toEqual({ status: 'disabled' });
    expect(ready.body.checks.migrations).toEqual({ status: 'up', pending: 0 });
  });
});
