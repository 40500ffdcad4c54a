/**
 * Every table the gateway uses, the postgres adapter's included. drizzle-kit generates the SQL in
 * `drizzle/` from this file; `.ci/run` fails when the two are out of step.
 */
import { sql } from "drizzle-orm";
import {
  bigint,
  bigserial,
  customType,
  foreignKey,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";

const bytea = customType<{ data: Buffer }>({ dataType: () => "bytea" });

export const sessions = pgTable("sessions", {
  id: text("id").primaryKey(),
  title: text("title"),
  createdBy: text("created_by").notNull(),
  /** The newest `seq` in the session. Locked and bumped by every append: this is what keeps
   * `seq` gap-free, since the bump and the insert commit or roll back together. */
  lastSeq: bigint("last_seq", { mode: "number" }).notNull().default(0),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});

export const sessionMembers = pgTable(
  "session_members",
  {
    sessionId: text("session_id")
      .notNull()
      .references(() => sessions.id, { onDelete: "cascade" }),
    principalId: text("principal_id").notNull(),
    addedAt: timestamp("added_at", { withTimezone: true }).notNull().defaultNow(),
    /** Receipt watermarks (PROTOCOL.md, `receipt`): the highest seq this member reported
     * delivered / read. They only move forward; writes are coalesced to one per second. */
    deliveredSeq: bigint("delivered_seq", { mode: "number" }).notNull().default(0),
    readSeq: bigint("read_seq", { mode: "number" }).notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.sessionId, t.principalId] }),
    index("session_members_principal_idx").on(t.principalId),
  ],
);

/**
 * Who has been seen, by token `sub`: one id is one principal of one kind (the first token seen
 * decides), and the display name follows the newest token that carries a `name` claim.
 */
export const principals = pgTable("principals", {
  id: text("id").primaryKey(),
  kind: text("kind", { enum: ["agent", "user"] }).notNull(),
  name: text("name").notNull(),
  firstSeenAt: timestamp("first_seen_at", { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});

export const messages = pgTable(
  "messages",
  {
    sessionId: text("session_id")
      .notNull()
      .references(() => sessions.id, { onDelete: "cascade" }),
    seq: bigint("seq", { mode: "number" }).notNull(),
    /** The sender's idempotency key, unique across all sessions (PROTOCOL.md section 4). */
    id: text("id").notNull(),
    senderId: text("sender_id").notNull(),
    senderKind: text("sender_kind", { enum: ["agent", "user"] }).notNull(),
    type: text("type").notNull(),
    content: text("content").notNull(),
    receiverId: text("receiver_id"),
    /** `direct`: only the sender and `receiver_id` may read it, on every read path. */
    visibility: text("visibility", { enum: ["session", "direct"] })
      .notNull()
      .default("session"),
    contextId: text("context_id"),
    replyTo: text("reply_to"),
    metadata: jsonb("metadata"),
    /** The sender's clock (ms since epoch); `created_at` when the sender gave none. */
    clientTimestamp: bigint("client_timestamp", { mode: "number" }),
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    // The primary key is also the index for "messages after seq N" reads.
    primaryKey({ columns: [t.sessionId, t.seq] }),
    uniqueIndex("messages_id_idx").on(t.id),
  ],
);

export const contexts = pgTable(
  "contexts",
  {
    sessionId: text("session_id")
      .notNull()
      .references(() => sessions.id, { onDelete: "cascade" }),
    contextId: text("context_id").notNull(),
    data: jsonb("data").notNull(),
    version: integer("version").notNull(),
    updatedBy: text("updated_by").notNull(),
    updatedAt: timestamp("updated_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    /** Principals besides the updater who may read it; null means every member. */
    targets: text("targets").array(),
    /** Not returned after this instant; the sweep deletes the row. Null never expires. */
    expiresAt: timestamp("expires_at", { withTimezone: true, precision: 3 }),
  },
  (t) => [
    primaryKey({ columns: [t.sessionId, t.contextId] }),
    index("contexts_expires_idx").on(t.expiresAt).where(sql`${t.expiresAt} is not null`),
  ],
);

/** Every version of every context, so a conflict can be explained and history replayed. */
export const contextVersions = pgTable(
  "context_versions",
  {
    sessionId: text("session_id").notNull(),
    contextId: text("context_id").notNull(),
    version: integer("version").notNull(),
    data: jsonb("data").notNull(),
    updatedBy: text("updated_by").notNull(),
    updatedAt: timestamp("updated_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.sessionId, t.contextId, t.version] }),
    // Cascades through the current row, so deleting a session deletes its history too.
    foreignKey({
      columns: [t.sessionId, t.contextId],
      foreignColumns: [contexts.sessionId, contexts.contextId],
    }).onDelete("cascade"),
  ],
);

export const connectionAudit = pgTable(
  "connection_audit",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    socketId: text("socket_id").notNull(),
    namespace: text("namespace").notNull(),
    principalId: text("principal_id"),
    principalKind: text("principal_kind"),
    nodeId: text("node_id").notNull(),
    region: text("region"),
    remoteAddress: text("remote_address"),
    userAgent: text("user_agent"),
    transport: text("transport"),
    connectedAt: timestamp("connected_at", { withTimezone: true, precision: 3 }).notNull(),
    disconnectedAt: timestamp("disconnected_at", { withTimezone: true, precision: 3 }),
    reason: text("reason"),
  },
  (t) => [
    uniqueIndex("connection_audit_socket_idx").on(t.nodeId, t.socketId),
    index("connection_audit_principal_idx").on(t.principalId, t.connectedAt),
    index("connection_audit_open_idx").on(t.nodeId).where(sql`${t.disconnectedAt} is null`),
    // The retention delete finds old rows by this.
    index("connection_audit_connected_idx").on(t.connectedAt),
  ],
);

/**
 * The postgres adapter's table for payloads too large for one NOTIFY (see `payloadThreshold`).
 * Named and shaped as `@socket.io/postgres-adapter` expects; the adapter deletes old rows by
 * `created_at`, hence the index.
 */
export const socketIoAttachments = pgTable(
  "socket_io_attachments",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    createdAt: timestamp("created_at", { withTimezone: true }).defaultNow(),
    payload: bytea("payload"),
  },
  (t) => [index("socket_io_attachments_created_at_idx").on(t.createdAt)],
);
