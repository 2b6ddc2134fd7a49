// `npm start`: the example service on the embedded PostgreSQL, or on DATABASE_URL (+ DATABASE_READ_URL).
import { join } from 'node:path';
import { startServer } from '@spfn/core/server';
import { createApp } from './app.mjs';
import * as schema from './schema.mjs';

const here = (path) => join(import.meta.dirname, path);

const server = await startServer({
  app: createApp(),
  configFile: here('./server.config.ts'),
  database: {
    schema,
    migrations: { auto: true, folder: here('./drizzle') },
  },
});
const { port } = server.httpServer.address();
console.log(`example service on http://localhost:${port} — try /users, /posts, /health/ready, /metrics`);
