CREATE TABLE "principals" (
	"id" text PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"name" text NOT NULL,
	"first_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "connection_audit_connected_idx" ON "connection_audit" USING btree ("connected_at");--> statement-breakpoint
-- Senders seen before this table existed: the kind of each sub's earliest message decides.
INSERT INTO "principals" ("id", "kind", "name", "first_seen_at", "updated_at")
SELECT DISTINCT ON ("sender_id") "sender_id", "sender_kind", "sender_id", "created_at", "created_at"
FROM "messages"
ORDER BY "sender_id", "created_at", "seq"
ON CONFLICT ("id") DO NOTHING;
