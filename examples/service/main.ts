// `npm start`: the example service on the embedded PostgreSQL, or on DATABASE_URL (+ DATABASE_READ_URL).
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { startServer } from '@spfn/core/server';
import { createApp } from './app.js';
import * as schema from './server/db/entities/index.js';

const here = (path: string): string => join(import.meta.dirname, path);

const server = await startServer({
  app: createApp(),
  configFile: here('./server.config.ts'),
  database: {
    schema,
    migrations: { auto: true, folder: here('./server/db/migrations') },
  },
});
const { port } = server.httpServer?.address() as AddressInfo;
console.log(`example service on http://localhost:${port} — try /users, /posts, /health/ready, /metrics`);
