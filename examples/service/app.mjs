// The example's routes: users and posts over the public API of @spfn/core (repositories, Transactional, errors).
import { eq, sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { getDatabase, getRepository, Repository, transaction, Transactional } from '@spfn/core/db';
import { NotFoundError } from '@spfn/core/errors';
import { errorHandler } from '@spfn/core/server';
import { posts, users } from './schema.mjs';

const MAX_PAGE_SIZE = 100;

/** The seed's custom repository: a post with its author in one query. */
export class PostRepository extends Repository {
  async findWithAuthor(id) {
    const [row] = await this.readDb
      .select({ post: posts, author: users })
      .from(posts)
      .leftJoin(users, eq(posts.authorId, users.id))
      .where(eq(posts.id, id));
    return row;
  }
}

const userRepo = () => getRepository(users);
const postRepo = () => getRepository(posts, PostRepository);

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
  return { page, size, sort: '-id' };
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

function found(row, what, id) {
  if (!row) throw new NotFoundError(`${what} ${id} not found`);
  return row;
}

function changes(input) {
  if (Object.keys(input).length === 0) throw new HTTPException(400, { message: 'Nothing to update' });
  return input;
}

/** Builds the example app. */
export function createApp() {
  const app = new Hono();
  app.onError(errorHandler());

  app.get('/', (c) =>
    c.json({ service: 'spfn example', routes: ['/users', '/posts', '/signup', '/health', '/metrics'] }),
  );

  app.get('/users', async (c) => c.json(await userRepo().findPage(paging(c))));

  app.get('/users/:id', async (c) => {
    const id = idParam(c);
    return c.json(found(await userRepo().findById(id), 'User', id));
  });

  app.post('/users', async (c) => c.json(await userRepo().save(pick(await body(c), ['email', 'name'])), 201));

  app.patch('/users/:id', async (c) => {
    const id = idParam(c);
    const user = await userRepo().update(id, changes(pick(await body(c), ['email', 'name'])));
    return c.json(found(user, 'User', id));
  });

  app.delete('/users/:id', async (c) => {
    const id = idParam(c);
    found(await userRepo().delete(id), 'User', id);
    return c.body(null, 204);
  });

  app.get('/users/:id/posts', async (c) =>
    c.json(await postRepo().findPage({ where: { authorId: idParam(c) }, ...paging(c) })),
  );

  app.get('/posts', async (c) => c.json(await postRepo().findPage(paging(c))));

  app.get('/posts/:id', async (c) => {
    const id = idParam(c);
    const row = found(await postRepo().findWithAuthor(id), 'Post', id);
    return c.json({ ...row.post, author: row.author });
  });

  app.post('/posts', async (c) =>
    c.json(await postRepo().save(pick(await body(c), ['authorId', 'title', 'body'])), 201),
  );

  app.patch('/posts/:id', async (c) => {
    const id = idParam(c);
    const post = await postRepo().update(id, changes(pick(await body(c), ['title', 'body'])));
    return c.json(found(post, 'Post', id));
  });

  app.delete('/posts/:id', async (c) => {
    const id = idParam(c);
    found(await postRepo().delete(id), 'Post', id);
    return c.body(null, 204);
  });

  // One transaction for both writes: when the post is refused, the user is not created either.
  app.post('/signup', Transactional(), async (c) => {
    const input = await body(c);
    const user = await userRepo().save(pick(input.user ?? {}, ['email', 'name']));
    const post = await postRepo().save({ ...pick(input.post ?? {}, ['title', 'body']), authorId: user.id });
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
