CREATE TABLE "connection_audit" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"socket_id" text NOT NULL,
	"namespace" text NOT NULL,
	"principal_id" text,
	"principal_kind" text,
	"node_id" text NOT NULL,
	"region" text,
	"remote_address" text,
	"user_agent" text,
	"transport" text,
	"connected_at" timestamp (3) with time zone NOT NULL,
	"disconnected_at" timestamp (3) with time zone,
	"reason" text
);
--> statement-breakpoint
CREATE TABLE "context_versions" (
	"session_id" text NOT NULL,
	"context_id" text NOT NULL,
	"version" integer NOT NULL,
	"data" jsonb NOT NULL,
	"updated_by" text NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "context_versions_session_id_context_id_version_pk" PRIMARY KEY("session_id","context_id","version")
);
--> statement-breakpoint
CREATE TABLE "contexts" (
	"session_id" text NOT NULL,
	"context_id" text NOT NULL,
	"data" jsonb NOT NULL,
	"version" integer NOT NULL,
	"updated_by" text NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "contexts_session_id_context_id_pk" PRIMARY KEY("session_id","context_id")
);
--> statement-breakpoint
CREATE TABLE "messages" (
	"session_id" text NOT NULL,
	"seq" bigint NOT NULL,
	"id" text NOT NULL,
	"sender_id" text NOT NULL,
	"sender_kind" text NOT NULL,
	"type" text NOT NULL,
	"content" text NOT NULL,
	"receiver_id" text,
	"context_id" text,
	"reply_to" text,
	"metadata" jsonb,
	"client_timestamp" bigint,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "messages_session_id_seq_pk" PRIMARY KEY("session_id","seq")
);
--> statement-breakpoint
CREATE TABLE "session_members" (
	"session_id" text NOT NULL,
	"principal_id" text NOT NULL,
	"added_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "session_members_session_id_principal_id_pk" PRIMARY KEY("session_id","principal_id")
);
--> statement-breakpoint
CREATE TABLE "sessions" (
	"id" text PRIMARY KEY NOT NULL,
	"title" text,
	"created_by" text NOT NULL,
	"last_seq" bigint DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "socket_io_attachments" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone DEFAULT now(),
	"payload" "bytea"
);
--> statement-breakpoint
ALTER TABLE "context_versions" ADD CONSTRAINT "context_versions_session_id_context_id_contexts_session_id_context_id_fk" FOREIGN KEY ("session_id","context_id") REFERENCES "public"."contexts"("session_id","context_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "contexts" ADD CONSTRAINT "contexts_session_id_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."sessions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "messages" ADD CONSTRAINT "messages_session_id_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."sessions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "session_members" ADD CONSTRAINT "session_members_session_id_sessions_id_fk" FOREIGN KEY ("session_id") REFERENCES "public"."sessions"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "connection_audit_socket_idx" ON "connection_audit" USING btree ("node_id","socket_id");--> statement-breakpoint
CREATE INDEX "connection_audit_principal_idx" ON "connection_audit" USING btree ("principal_id","connected_at");--> statement-breakpoint
CREATE INDEX "connection_audit_open_idx" ON "connection_audit" USING btree ("node_id") WHERE "connection_audit"."disconnected_at" is null;--> statement-breakpoint
CREATE UNIQUE INDEX "messages_id_idx" ON "messages" USING btree ("id");--> statement-breakpoint
CREATE INDEX "session_members_principal_idx" ON "session_members" USING btree ("principal_id");--> statement-breakpoint
CREATE INDEX "socket_io_attachments_created_at_idx" ON "socket_io_attachments" USING btree ("created_at");