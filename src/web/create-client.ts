/**
 * The SDK client for a signed-in user: the `/clients` namespace on the page's own origin, with
 * an outbox kept in localStorage so a message typed offline is still sent after a reload.
 */
import { createGatewayClient, type GatewayClient, localStorageOutbox } from "../sdk/index.js";

export function createClient(token: string, url: string = window.location.origin): GatewayClient {
  return createGatewayClient({
    url,
    namespace: "/clients",
    token,
    outbox: { storage: localStorageOutbox({ key: "tkr.outbox" }) },
  });
}
