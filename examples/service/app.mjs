// The example's routes: users and posts over the public API of @spfn/core.
import { count, desc, eq, sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { getDatabase, transaction, Transactional } from '@spfn/core/db';
import { NotFoundError } from '@spfn/core/errors';
import { errorHandler } from '@spfn/core/server';
import { posts, users } from './schema.mjs';

const MAX_PAGE_SIZE = 100;

function idParam(c) {
  const raw = c.req.param('id');
  if (!/^\d{1,15}$/.test(raw)) throw new HTTPException(400, { message: `Invalid id "${raw.slice(0, 20)}"` });
  return Number(raw);
}

function paging(c) {
  const page = Number(c.req.query('page') ?? 1);
  const size = Number(c.req.query('size') ?? 20);
  if (!Number.isInteger(page) || page < 1) throw new HTTPException(400, { message: 'page must be an integer ≥ 1' });
  if (!Number.isInteger(size) || size < 1 || size > MAX_PAGE_SIZE) {
    throw new HTTPException(400, { message: `size must be an integer from 1 to ${MAX_PAGE_SIZE}` });
  }
  return { page, size, offset: (page - 1) * size };
}

async function body(c) {
  try {
    const value = await c.req.json();
    if (value && typeof value === 'object' && !Array.isArray(value)) return value;
  } catch {
    // fall through
  }
  throw new HTTPException(400, { message: 'Expected a JSON object body' });
}

function pick(value, keys) {
  return Object.fromEntries(keys.filter((k) => value[k] !== undefined).map((k) => [k, value[k]]));
}

async function page(c, table, where) {
  const { page, size, offset } = paging(c);
  const db = getDatabase('read');
  const [rows, [{ total }]] = await Promise.all([
    db.select().from(table).where(where).orderBy(desc(table.id)).limit(size).offset(offset),
    db.select({ total: count() }).from(table).where(where),
  ]);
  return c.json({ data: rows, meta: { page, size, total, totalPages: Math.ceil(total / size) } });
}

function found(row, what, id) {
  if (!row) throw new NotFoundError(`${what} ${id} not found`);
  return row;
}

/** Builds the example app. */
export function createApp() {
  const app = new Hono();
  app.onError(errorHandler());

  app.get('/', (c) =>
    c.json({ service: 'spfn example', routes: ['/users', '/posts', '/signup', '/health', '/metrics'] }),
  );

  app.get('/users', (c) => page(c, users));

  app.get('/users/:id', async (c) => {
    const id = idParam(c);
    const [user] = await getDatabase('read').select().from(users).where(eq(users.id, id));
    return c.json(found(user, 'User', id));
  });

  app.post('/users', async (c) => {
    const input = pick(await body(c), ['email', 'name']);
    const [user] = await getDatabase().insert(users).values(input).returning();
    return c.json(user, 201);
  });

  app.patch('/users/:id', async (c) => {
    const id = idParam(c);
    const input = pick(await body(c), ['email', 'name']);
    if (Object.keys(input).length === 0) throw new HTTPException(400, { message: 'Nothing to update' });
    const [user] = await getDatabase().update(users).set(input).where(eq(users.id, id)).returning();
    return c.json(found(user, 'User', id));
  });

  app.delete('/users/:id', async (c) => {
    const id = idParam(c);
    const [user] = await getDatabase().delete(users).where(eq(users.id, id)).returning({ id: users.id });
    found(user, 'User', id);
    return c.body(null, 204);
  });

  app.get('/users/:id/posts', (c) => page(c, posts, eq(posts.authorId, idParam(c))));

  app.get('/posts', (c) => page(c, posts));

  app.get('/posts/:id', async (c) => {
    const id = idParam(c);
    const post = await getDatabase('read').query.posts.findFirst({ where: eq(posts.id, id), with: { author: true } });
    return c.json(found(post, 'Post', id));
  });

  app.post('/posts', async (c) => {
    const input = pick(await body(c), ['authorId', 'title', 'body']);
    const [post] = await getDatabase().insert(posts).values(input).returning();
    return c.json(post, 201);
  });

  app.patch('/posts/:id', async (c) => {
    const id = idParam(c);
    const input = pick(await body(c), ['title', 'body']);
    if (Object.keys(input).length === 0) throw new HTTPException(400, { message: 'Nothing to update' });
    const [post] = await getDatabase().update(posts).set(input).where(eq(posts.id, id)).returning();
    return c.json(found(post, 'Post', id));
  });

  app.delete('/posts/:id', async (c) => {
    const id = idParam(c);
    const [post] = await getDatabase().delete(posts).where(eq(posts.id, id)).returning({ id: posts.id });
    found(post, 'Post', id);
    return c.body(null, 204);
  });

  // One transaction for both writes: when the post is refused, the user is not created either.
  app.post('/signup', Transactional(), async (c) => {
    const input = await body(c);
    const db = getDatabase();
    const [user] = await db
      .insert(users)
      .values(pick(input.user ?? {}, ['email', 'name']))
      .returning();
    const [post] = await db
      .insert(posts)
      .values({ ...pick(input.post ?? {}, ['title', 'body']), authorId: user.id })
      .returning();
    return c.json({ user, post }, 201);
  });

  // Holds a transaction for `ms` milliseconds (after creating a user when `email` is given), within `timeout`
  // ms (default TRANSACTION_TIMEOUT): try graceful shutdown (SIGTERM) and transaction timeouts (504) with it.
  app.get('/demo/slow', async (c) => {
    const ms = Number(c.req.query('ms') ?? 1000);
    const timeout = c.req.query('timeout') === undefined ? undefined : Number(c.req.query('timeout'));
    if (!(ms >= 0 && ms <= 60_000)) throw new HTTPException(400, { message: 'ms must be from 0 to 60000' });
    if (timeout !== undefined && !(timeout >= 0)) throw new HTTPException(400, { message: 'invalid timeout' });
    const email = c.req.query('email');
    const result = await transaction(
      async () => {
        const db = getDatabase();
        if (email) await db.insert(users).values({ email, name: 'slow' });
        const [row] = await db.execute(sql`select pg_sleep(${ms / 1000}) is null as slept, now() as at`);
        return { sleptMs: ms, startedAt: row.at };
      },
      { timeout, name: 'demo slow' },
    );
    return c.json(result);
  });

  return app;
}
