/**
 * Which `seq` to report read: the newest message shown, while the page is visible (a message
 * that arrives in a background tab is not read yet), never one already reported.
 */
export function nextReadMark(
  marked: number,
  newest: number | undefined,
  visible: boolean,
): number | undefined {
  if (!visible || newest === undefined || newest <= marked) return undefined;
  return newest;
}
