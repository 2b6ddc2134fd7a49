// The example's routes: users and posts over the public API of @spfn/core (repositories, Transactional, errors).
// Input is validated before a handler runs (input.ts); every error answers { error: { code, message } }.
import { eq, sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { getDatabase, getRepository, Repository, transaction, Transactional } from '@spfn/core/db';
import { NotFoundError } from '@spfn/core/errors';
import { errorHandler } from '@spfn/core/server';
import {
  errorBody,
  idParam,
  jsonBody,
  newPost,
  newUser,
  paging,
  postChanges,
  signup,
  slowQuery,
  userChanges,
  valid,
} from './input.js';
import { posts, users, type Post, type User } from './server/db/entities/index.js';

/** The seed's custom repository: a post with its author in one query. */
export class PostRepository extends Repository<typeof posts> {
  async findWithAuthor(id: number): Promise<{ post: Post; author: User | null } | null> {
    const [row] = await this.readDb
      .select({ post: posts, author: users })
      .from(posts)
      .leftJoin(users, eq(posts.authorId, users.id))
      .where(eq(posts.id, id));
    return row ?? null;
  }
}

const userRepo = () => getRepository(users);
const postRepo = () => getRepository(posts, PostRepository);

function found<T>(row: T | null, what: string, id: number): T {
  if (row === null) throw new NotFoundError(`${what} ${id} not found`);
  return row;
}

const HTTP_CODES: Record<number, string> = {
  400: 'BAD_REQUEST',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
};

/** Builds the example app. */
export function createApp(): Hono {
  const app = new Hono();
  const databaseErrors = errorHandler();
  app.onError((err, c) => {
    if (err instanceof HTTPException) {
      const status = err.status;
      return c.json(errorBody(HTTP_CODES[status] ?? 'HTTP_ERROR', err.message || 'Request refused'), status);
    }
    return databaseErrors(err, c);
  });
  app.notFound((c) => c.json(errorBody('NOT_FOUND', `No route for ${c.req.method} ${c.req.path.slice(0, 100)}`), 404));

  app.get('/', (c) =>
    c.json({ service: 'spfn example', routes: ['/users', '/posts', '/signup', '/health', '/metrics'] }),
  );

  app.get('/users', valid('query', paging), async (c) =>
    c.json(await userRepo().findPage({ ...c.req.valid('query'), sort: '-id' })),
  );

  app.get('/users/:id', valid('param', idParam), async (c) => {
    const { id } = c.req.valid('param');
    return c.json(found(await userRepo().findById(id), 'User', id));
  });

  app.post('/users', jsonBody, valid('json', newUser), async (c) =>
    c.json(await userRepo().save(c.req.valid('json')), 201),
  );

  app.patch('/users/:id', valid('param', idParam), jsonBody, valid('json', userChanges), async (c) => {
    const { id } = c.req.valid('param');
    return c.json(found(await userRepo().update(id, c.req.valid('json')), 'User', id));
  });

  app.delete('/users/:id', valid('param', idParam), async (c) => {
    const { id } = c.req.valid('param');
    found(await userRepo().delete(id), 'User', id);
    return c.body(null, 204);
  });

  app.get('/users/:id/posts', valid('param', idParam), valid('query', paging), async (c) => {
    const { id } = c.req.valid('param');
    return c.json(await postRepo().findPage({ where: { authorId: id }, ...c.req.valid('query'), sort: '-id' }));
  });

  app.get('/posts', valid('query', paging), async (c) =>
    c.json(await postRepo().findPage({ ...c.req.valid('query'), sort: '-id' })),
  );

  app.get('/posts/:id', valid('param', idParam), async (c) => {
    const { id } = c.req.valid('param');
    const row = found(await postRepo().findWithAuthor(id), 'Post', id);
    return c.json({ ...row.post, author: row.author });
  });

  app.post('/posts', jsonBody, valid('json', newPost), async (c) =>
    c.json(await postRepo().save(c.req.valid('json')), 201),
  );

  app.patch('/posts/:id', valid('param', idParam), jsonBody, valid('json', postChanges), async (c) => {
    const { id } = c.req.valid('param');
    return c.json(found(await postRepo().update(id, c.req.valid('json')), 'Post', id));
  });

  app.delete('/posts/:id', valid('param', idParam), async (c) => {
    const { id } = c.req.valid('param');
    found(await postRepo().delete(id), 'Post', id);
    return c.body(null, 204);
  });

  // One transaction for both writes: when the post is refused, the user is not created either.
  app.post('/signup', jsonBody, valid('json', signup), Transactional(), async (c) => {
    const input = c.req.valid('json');
    const user = await userRepo().save(input.user);
    const post = await postRepo().save({ ...input.post, authorId: user.id });
    return c.json({ user, post }, 201);
  });

  // Holds a transaction for `ms` milliseconds (after creating a user when `email` is given), within `timeout`
  // ms (default TRANSACTION_TIMEOUT): try graceful shutdown (SIGTERM) and transaction timeouts (504) with it.
  app.get('/demo/slow', valid('query', slowQuery), async (c) => {
    const { ms, timeout, email } = c.req.valid('query');
    const result = await transaction(
      async () => {
        const db = getDatabase();
        if (email !== undefined) await db.insert(users).values({ email, name: 'slow' });
        const [row] = await db.execute<{ at: Date }>(sql`select pg_sleep(${ms / 1000}) is null as slept, now() as at`);
        return { sleptMs: ms, startedAt: row?.at };
      },
      { timeout, name: 'demo slow' },
    );
    return c.json(result);
  });

  return app;
}
