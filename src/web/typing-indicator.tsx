/**
 * "… is typing" under the conversation. The line keeps its height when empty, so the list does
 * not jump each time someone starts or stops.
 */
export function TypingIndicator({ names }: { names: readonly string[] }) {
  return (
    <p className="typing muted" aria-live="polite" data-testid="typing">
      {describe(names)}
    </p>
  );
}

function describe(names: readonly string[]): string {
  const [first, second] = names;
  if (first === undefined) return "";
  if (second === undefined) return `${first} is typing…`;
  if (names.length === 2) return `${first} and ${second} are typing…`;
  return `${first} and ${names.length - 1} others are typing…`;
}
