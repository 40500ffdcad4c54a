/**
 * One Postgres for the whole run: the embedded one in a throwaway directory, or DATABASE_URL
 * when set. Migrations are applied once to a template database; each test file clones it.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { createDatabase } from "../../src/db/client.js";
import { type RunningPostgres, startEmbeddedPostgres } from "../../src/db/embedded.js";
import { runMigrations } from "../../src/db/migrate.js";
import { withDatabase } from "./urls.js";

declare module "vitest" {
  export interface ProvidedContext {
    pgAdminUrl: string;
    pgTemplate: string;
    /** Where the browser tests build the web UI, once per run (helpers/browser.ts). */
    webBuildDir: string;
  }
}

export const TEMPLATE = `tkr_test_template_${process.pid}`;

let embedded: RunningPostgres | undefined;
let webBuildDir: string | undefined;

export async function setup(project: TestProject) {
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), "tkr-test-pg-"));
    embedded = await startEmbeddedPostgres({
      dataDir,
      ephemeral: true,
      postgresFlags: ["-c", "max_connections=400", "-c", "fsync=on"],
    });
    adminUrl = embedded.url;
  }
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`drop database if exists ${TEMPLATE}`);
  await admin.query(`create database ${TEMPLATE}`);
  await admin.end();

  const template = createDatabase({ url: withDatabase(adminUrl, TEMPLATE), max: 1 });
  await runMigrations(template.pool);
  await template.close();

  project.provide("pgAdminUrl", adminUrl);
  project.provide("pgTemplate", TEMPLATE);
  webBuildDir = await mkdtemp(path.join(os.tmpdir(), "tkr-test-web-"));
  project.provide("webBuildDir", webBuildDir);
}

export async function teardown() {
  if (webBuildDir) await rm(webBuildDir, { recursive: true, force: true });
  if (embedded) await embedded.stop();
}
