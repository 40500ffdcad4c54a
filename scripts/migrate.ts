/** `npm run db:migrate` before the build existed ran this file: the entry point is src/migrate.ts. */
import "../src/migrate.js";
