/**
 * Direct messages (`visibility: "direct"`): only the sender and the receiver see them. The field
 * is read loosely because servers before direct messages do not send it.
 */
export function directReceiver(message: { receiverId?: string | undefined }): string | undefined {
  const { visibility } = message as { visibility?: unknown };
  return visibility === "direct" ? message.receiverId : undefined;
}
