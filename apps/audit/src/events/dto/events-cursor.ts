/**
 * Page cursors are opaque to clients: base64url of a versioned seq, so the
 * format can change without breaking anyone who only passes them back.
 */
const CURSOR_FORMAT = /^v1:([1-9][0-9]{0,15})$/;

export function encodeCursor(seq: number): string {
  return Buffer.from(`v1:${seq}`, 'utf8').toString('base64url');
}

/** The seq a cursor points after, or null when it is not one of ours. */
export function decodeCursor(cursor: string): number | null {
  if (!/^[A-Za-z0-9_-]{1,40}$/.test(cursor)) return null;
  const match = CURSOR_FORMAT.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  return match ? Number(match[1]) : null;
}
