import { createHash, timingSafeEqual } from 'node:crypto';
import { type IncomingMessage } from 'node:http';

/** The token a client presented: `Authorization: Bearer <token>`, else the `token` query parameter (browsers). */
export function presentedToken(request: IncomingMessage, url: URL): string | undefined {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer (.+)$/i.exec(header);
    return match?.[1];
  }
  return url.searchParams.get('token') ?? undefined;
}

/** Compares in constant time (digests first, so lengths do not leak either). */
export function tokensMatch(presented: string | undefined, expected: string): boolean {
  if (presented === undefined) return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(presented), digest(expected));
}
