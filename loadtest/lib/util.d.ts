/** Types for util.js (plain JavaScript so k6 runs it unchanged). */

export declare function parseDuration(value: string | number): number;
export declare function formatDuration(ms: number): string;

export interface EnvReader {
  str(name: string, fallback: string): string;
  str(name: string, fallback?: string): string | undefined;
  int(name: string, fallback: number): number;
  num(name: string, fallback: number): number;
  ms(name: string, fallback: string): number;
  list(name: string, fallback?: string[]): string[];
  bool(name: string, fallback: boolean): boolean;
}
export declare function envReader(env: Record<string, string | undefined> | undefined): EnvReader;

export declare function trimBase(url: string): string;

export interface NodeChoice {
  node: number;
  baseUrl: string;
  headers: Record<string, string>;
}
export declare function pickNode(
  config: { baseUrls: string[]; machines?: string[] },
  index: number,
): NodeChoice;

export declare function safeId(...parts: Array<string | number>): string;
export declare function base64url(text: string): string;
export declare function decodeBase64url(segment: string): string;
export declare function jwtSigningInput(
  claims: { sub: string; kind: "agent" | "user"; name?: string },
  nowSeconds: number,
  ttlSeconds: number,
): string;
export declare function jwtClaims(token: string): Record<string, unknown>;

export declare class SeqTracker {
  constructor(afterSeq?: number);
  /** The head when tracking started. */
  readonly start: number;
  contiguous: number;
  highest: number;
  duplicates: number;
  add(seq: number): boolean;
  gaps(): number;
}
