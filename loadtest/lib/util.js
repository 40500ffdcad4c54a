/**
 * Helpers shared by the k6 scenarios that need no k6 module: env parsing, durations, ids, JWT
 * signing input, and per-session seq tracking. Plain ES module (k6 and Node both load it); types
 * in util.d.ts.
 */

/** `"1500ms"`, `"30s"`, `"2m"`, `"1h"`, `"1m30s"` or a bare number of seconds → milliseconds. */
export function parseDuration(value) {
  if (typeof value === "number") return value * 1000;
  const text = String(value).trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const units = { ms: 1, s: 1000, m: 60000, h: 3600000 };
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let total = 0;
  let consumed = 0;
  let match = re.exec(text);
  while (match !== null) {
    total += Number(match[1]) * units[match[2]];
    consumed += match[0].length;
    match = re.exec(text);
  }
  if (consumed === 0 || consumed !== text.length) throw new Error(`not a duration: ${value}`);
  return total;
}

/** Milliseconds → a k6 duration string (`"90s"`), rounded up to whole seconds. */
export function formatDuration(ms) {
  return `${Math.ceil(ms / 1000)}s`;
}

/** Reads typed settings from an env-like record (k6's `__ENV`), failing loudly on bad values. */
export function envReader(env) {
  const source = env || {};
  const raw = (name) => {
    const v = source[name];
    return v === undefined || v === "" ? undefined : String(v);
  };
  return {
    str(name, fallback) {
      const v = raw(name);
      return v === undefined ? fallback : v;
    },
    int(name, fallback) {
      const v = raw(name);
      if (v === undefined) return fallback;
      const n = Number(v);
      if (!Number.isInteger(n)) throw new Error(`${name} must be an integer, got ${v}`);
      return n;
    },
    num(name, fallback) {
      const v = raw(name);
      if (v === undefined) return fallback;
      const n = Number(v);
      if (!Number.isFinite(n)) throw new Error(`${name} must be a number, got ${v}`);
      return n;
    },
    /** Duration in milliseconds. */
    ms(name, fallback) {
      const v = raw(name);
      return v === undefined ? parseDuration(fallback) : parseDuration(v);
    },
    list(name, fallback) {
      const v = raw(name);
      if (v === undefined) return fallback ? fallback.slice() : [];
      return v
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== "");
    },
    bool(name, fallback) {
      const v = raw(name);
      if (v === undefined) return fallback;
      return v === "1" || v.toLowerCase() === "true" || v.toLowerCase() === "yes";
    },
  };
}

/** Base URL without a trailing slash. */
export function trimBase(url) {
  return String(url).replace(/\/+$/, "");
}

/**
 * Where socket number `index` connects: round-robin over `baseUrls`, or, on Fly.io where one
 * URL fronts every machine, over `machines` with a `fly-force-instance-id` header. Returns the
 * node index so a receiver can tell a cross-node delivery from a local one.
 */
export function pickNode(config, index) {
  if (config.machines && config.machines.length > 0) {
    const node = index % config.machines.length;
    return {
      node,
      baseUrl: config.baseUrls[0],
      headers: { "fly-force-instance-id": config.machines[node] },
    };
  }
  const node = index % config.baseUrls.length;
  return { node, baseUrl: config.baseUrls[node], headers: {} };
}

/** Ids of the protocol's charset `[A-Za-z0-9_-]`, at most 64 characters. */
export function safeId(...parts) {
  const id = parts
    .map((p) => String(p))
    .join("-")
    .replace(/[^A-Za-z0-9_-]/g, "_");
  return id.length <= 64 ? id : id.slice(id.length - 64);
}

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

function utf8(text) {
  const bytes = [];
  for (let i = 0; i < text.length; i++) {
    let code = text.codePointAt(i);
    if (code > 0xffff) i++;
    if (code < 0x80) bytes.push(code);
    else if (code < 0x800) bytes.push(0xc0 | (code >> 6), 0x80 | (code & 63));
    else if (code < 0x10000) {
      bytes.push(0xe0 | (code >> 12), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63));
    } else {
      code = Math.min(code, 0x10ffff);
      bytes.push(
        0xf0 | (code >> 18),
        0x80 | ((code >> 12) & 63),
        0x80 | ((code >> 6) & 63),
        0x80 | (code & 63),
      );
    }
  }
  return bytes;
}

/** Unpadded base64url of a string's UTF-8 bytes (JWT segments). */
export function base64url(text) {
  const bytes = utf8(text);
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] || 0) << 8) | (bytes[i + 2] || 0);
    out += B64URL[(n >> 18) & 63] + B64URL[(n >> 12) & 63];
    if (i + 1 < bytes.length) out += B64URL[(n >> 6) & 63];
    if (i + 2 < bytes.length) out += B64URL[n & 63];
  }
  return out;
}

/** Decodes an unpadded base64url segment holding UTF-8 JSON (a JWT payload). */
export function decodeBase64url(segment) {
  const bytes = [];
  let bits = 0;
  let value = 0;
  for (const ch of String(segment).replace(/=+$/, "")) {
    const index = B64URL.indexOf(ch);
    if (index === -1) throw new Error("not base64url");
    value = (value << 6) | index;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((value >> bits) & 255);
    }
  }
  let text = "";
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i];
    let code;
    let size;
    if (b < 0x80) [code, size] = [b, 1];
    else if (b < 0xe0) [code, size] = [b & 31, 2];
    else if (b < 0xf0) [code, size] = [b & 15, 3];
    else [code, size] = [b & 7, 4];
    for (let k = 1; k < size; k++) code = (code << 6) | (bytes[i + k] & 63);
    text += String.fromCodePoint(code);
    i += size;
  }
  return text;
}

/**
 * The `header.payload` part of an HS256 JWT with the gateway's claims (PROTOCOL.md section 2).
 * The caller signs it (k6/crypto `hmac("sha256", secret, input, "base64rawurl")`).
 */
export function jwtSigningInput(claims, nowSeconds, ttlSeconds) {
  const payload = { sub: claims.sub, kind: claims.kind, iat: nowSeconds };
  if (claims.name !== undefined) payload.name = claims.name;
  payload.exp = nowSeconds + ttlSeconds;
  const header = base64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  return `${header}.${base64url(JSON.stringify(payload))}`;
}

/** The claims of a JWT, unverified (to learn a passed-in token's `sub` and `kind`). */
export function jwtClaims(token) {
  const parts = String(token).split(".");
  if (parts.length !== 3) throw new Error("not a JWT");
  return JSON.parse(decodeBase64url(parts[1]));
}

/**
 * Tracks the `seq`s one socket has seen in one session, in constant memory while they arrive
 * roughly in order. `add` says whether a seq is new; `gaps` counts the ones missing between the
 * starting point and the highest seen. Live delivery may reorder and, around reconnects,
 * repeat (PROTOCOL.md section 5); a gap that `sync` cannot fill is a lost message.
 */
export class SeqTracker {
  /** @param {number} afterSeq the head when tracking started: seqs at or below it are old. */
  constructor(afterSeq) {
    this.start = afterSeq || 0;
    this.contiguous = this.start;
    this.highest = this.contiguous;
    this._ahead = {};
    this._aheadCount = 0;
    this.duplicates = 0;
  }

  add(seq) {
    if (seq <= this.contiguous || this._ahead[seq]) {
      this.duplicates++;
      return false;
    }
    if (seq > this.highest) this.highest = seq;
    if (seq === this.contiguous + 1) {
      this.contiguous = seq;
      while (this._ahead[this.contiguous + 1]) {
        delete this._ahead[this.contiguous + 1];
        this._aheadCount--;
        this.contiguous++;
      }
    } else {
      this._ahead[seq] = true;
      this._aheadCount++;
    }
    return true;
  }

  /** Seqs missing between the starting point and the highest seen. */
  gaps() {
    return this.highest - this.contiguous - this._aheadCount;
  }
}
