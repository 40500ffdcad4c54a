/**
 * Who the browser user is: a display name, the principal id derived from it and the dev token
 * issued for that id, remembered in localStorage so a reload stays signed in.
 */
const KEY = "tkr.identity.v1";

export interface Identity {
  /** Principal id, the token's `sub`. */
  sub: string;
  name: string;
  token: string;
}

export function loadIdentity(storage: Storage = localStorage): Identity | undefined {
  try {
    const value = JSON.parse(storage.getItem(KEY) ?? "null") as Partial<Identity> | null;
    if (value && typeof value.sub === "string" && typeof value.name === "string") {
      if (typeof value.token === "string") return value as Identity;
    }
  } catch {
    // A corrupt entry is the same as none: the user signs in again.
  }
  return undefined;
}

export function saveIdentity(identity: Identity, storage: Storage = localStorage): void {
  storage.setItem(KEY, JSON.stringify(identity));
}

export function clearIdentity(storage: Storage = localStorage): void {
  storage.removeItem(KEY);
}

/**
 * A principal id for a display name: `user:<slug>-<random>`, within the protocol's
 * `[A-Za-z0-9._:-]{1,64}`. The suffix keeps two people called "Sam" apart.
 */
export function principalIdFor(name: string, random: () => string = randomSuffix): string {
  const slug = name
    .normalize("NFKD")
    .replace(/[^A-Za-z0-9._-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .toLowerCase()
    .slice(0, 40);
  return `user:${slug || "guest"}-${random()}`;
}

function randomSuffix(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(4));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
