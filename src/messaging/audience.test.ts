import { describe, expect, it } from "vitest";
import { canSee, contextAudience, messageAudience } from "./audience.js";

describe("audience", () => {
  it("gives a direct message to its sender and receiver, anything else to everyone", () => {
    const direct = messageAudience({ senderId: "a", receiverId: "b", visibility: "direct" });
    expect(direct).toEqual(["a", "b"]);
    expect([canSee(direct, "a"), canSee(direct, "b"), canSee(direct, "c")]).toEqual([
      true,
      true,
      false,
    ]);
    const addressed = messageAudience({ senderId: "a", receiverId: "b" });
    expect(addressed).toBeUndefined();
    expect(canSee(addressed, "c")).toBe(true);
    expect(messageAudience({ senderId: "a", receiverId: "a", visibility: "direct" })).toEqual([
      "a",
    ]);
    // Refused at the door; from a bad peer it is the sender's alone, never everyone's.
    expect(messageAudience({ senderId: "a", visibility: "direct" })).toEqual(["a"]);
  });

  it("gives a targeted context to its targets and its updater", () => {
    expect(contextAudience({ sourceAgentId: "a", targets: ["b", "c"] })).toEqual(["b", "c", "a"]);
    expect(contextAudience({ sourceAgentId: "b", targets: ["b"] })).toEqual(["b"]);
    expect(contextAudience({ sourceAgentId: "a" })).toBeUndefined();
  });
});
