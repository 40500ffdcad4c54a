/**
 * Builds the `ChatClient` the app uses for a token.
 */
import type { ChatClient } from "./chat-client.js";
import { createSocketChatClient } from "./socket-chat-client.js";

export function createChatClient(options: { url: string; token: string }): ChatClient {
  return createSocketChatClient(options);
}
