import { defineConfig } from 'prisma/config';

// SQL migrations (postgrator) are the source of truth; Prisma only generates the client.
// `prisma generate` needs no database: DATABASE_URL falls back to a placeholder.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://prisma-generate@localhost:5432/unused' },
});
