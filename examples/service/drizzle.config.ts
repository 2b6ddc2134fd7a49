// drizzle-kit's configuration, with the seed's defaults: schema ./server/db/entities/**/*.ts, migrations in
// ./server/db/migrations, the database from DATABASE_URL (the embedded PGlite without it). Run from this folder:
// `npx drizzle-kit generate` after changing an entity.
import { getDrizzleConfig } from '@spfn/core/db';

export default getDrizzleConfig();
