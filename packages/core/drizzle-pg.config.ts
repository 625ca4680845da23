import { defineConfig } from 'drizzle-kit';

// The PostgreSQL migrations (docs/storage.md): `pnpm db:generate:pg`.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/storage/pg/schema.ts',
  out: './drizzle-pg',
});
