// The seed's server config, as written. startServer() loads it (TypeScript, through jiti on Node 20).
import type { ServerConfig } from '@spfn/core/server';

export default {
  database: {
    pool: { max: 50, idleTimeout: 60 },
    healthCheck: { enabled: true, interval: 30000, reconnect: true, maxRetries: 5, retryInterval: 10000 },
  },
} satisfies ServerConfig;
