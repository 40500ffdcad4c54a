/**
 * pino's serializer for `err`: the error's type, code, message and stack, and its causes, but never
 * the values a query ran with. drizzle puts the parameters in `params` and in its message
 * ("Failed query: …\nparams: …"), and Postgres echoes values in `detail` ("Key (id)=(…)") and in
 * messages ("invalid input syntax for type integer: \"…\""); message contents and titles are
 * among those values.
 */

const SAFE_FIELDS = [
  "code",
  "severity",
  "routine",
  "schema",
  "table",
  "column",
  "constraint",
  "dataType",
  "query",
] as const;

const MAX_DEPTH = 5;

export function serializeError(err: unknown, depth = 0): unknown {
  if (!(err instanceof Error)) return err;
  const fields = err as unknown as Record<string, unknown>;
  const message = scrubMessage(err);
  const out: Record<string, unknown> = {
    type: err.constructor?.name ?? "Error",
    message,
    stack: err.stack?.replace(err.message, () => message),
  };
  for (const key of SAFE_FIELDS) {
    if (typeof fields[key] === "string") out[key] = fields[key];
  }
  if (err.cause !== undefined && depth < MAX_DEPTH)
    out.cause = serializeError(err.cause, depth + 1);
  return out;
}

function scrubMessage(err: Error): string {
  let message = err.message.replace(/\nparams: [\s\S]*$/, "\nparams: [redacted]");
  // A Postgres error (severity and SQLSTATE): its quoted parts may be values.
  const fields = err as unknown as Record<string, unknown>;
  if (typeof fields.severity === "string" && typeof fields.code === "string") {
    message = message.replace(/"[^"]*"/g, '"[redacted]"');
  }
  return message;
}
