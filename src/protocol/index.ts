export * from "./errors.js";
export * from "./events.js";
export * from "./json-rules.js";
export * from "./limits.js";
export * from "./schemas.js";
export * from "./streams.js";
