/**
 * The open session lives in the URL hash (`#/s/<id>`): reloading keeps it open, the browser's
 * back button leaves it, and the link can be shared with another member.
 */
import { useCallback, useEffect, useState } from "react";

const PREFIX = "#/s/";

function read(): string | undefined {
  const hash = window.location.hash;
  if (!hash.startsWith(PREFIX)) return undefined;
  const id = decodeURIComponent(hash.slice(PREFIX.length));
  return /^[A-Za-z0-9_-]{1,64}$/.test(id) ? id : undefined;
}

export function useHashSession(): [string | undefined, (id: string | undefined) => void] {
  const [sessionId, setSessionId] = useState(read);
  useEffect(() => {
    const onChange = () => setSessionId(read());
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  const open = useCallback((id: string | undefined) => {
    window.location.hash = id ? `${PREFIX}${encodeURIComponent(id)}` : "#/";
  }, []);
  return [sessionId, open];
}
