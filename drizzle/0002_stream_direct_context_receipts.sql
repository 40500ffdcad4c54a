ALTER TABLE "contexts" ADD COLUMN "targets" text[];--> statement-breakpoint
ALTER TABLE "contexts" ADD COLUMN "expires_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "visibility" text DEFAULT 'session' NOT NULL;--> statement-breakpoint
ALTER TABLE "session_members" ADD COLUMN "delivered_seq" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "session_members" ADD COLUMN "read_seq" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "contexts_expires_idx" ON "contexts" USING btree ("expires_at") WHERE "contexts"."expires_at" is not null;