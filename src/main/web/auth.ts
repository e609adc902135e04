/**
 * Who may use the web host. Two secrets, made per launch:
 *
 * - the API token, printed in the URL (`?token=`). API calls carry it in the x-finetune-token
 *   header; the page gets it once, in a meta tag of the page that the printed URL opens, and
 *   keeps it in sessionStorage (which is scoped to this origin, port included).
 * - a page session value in an HttpOnly cookie named after this instance (`finetune_<id>`).
 *   Cookies are not port-scoped: the browser also sends it to any other server on 127.0.0.1.
 *   So it opens only the page's files and the event stream, never the API, and never a page
 *   that holds the API token.
 *
 * API calls and the event stream are also refused when the browser says they come from another
 * site (Sec-Fetch-Site) or origin (Origin).
 */
import crypto from 'node:crypto';
import type http from 'node:http';

export const TOKEN_HEADER = 'x-finetune-token';

export interface Credentials {
  /** The API token in the x-finetune-token header. */
  header: boolean;
  /** The API token in the query (?token=): the printed URL, or a non-browser event client. */
  query: boolean;
  /** This instance's session cookie. */
  session: boolean;
}

export interface WebAuth {
  readonly token: string;
  readonly cookieName: string;
  credentials(req: http.IncomingMessage, url: URL): Credentials;
  /** The Set-Cookie value that starts a page session. */
  sessionCookie(): string;
  /** False when the browser says the request comes from another site or origin. */
  sameOrigin(req: http.IncomingMessage, port: number): boolean;
}

export function tokensEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && crypto.timingSafeEqual(ab, bb);
}

export function readCookie(req: http.IncomingMessage, name: string): string | null {
  const header = req.headers.cookie;
  if (!header) return null;
  for (const part of header.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) {
      try {
        return decodeURIComponent(v.join('='));
      } catch {
        return null;
      }
    }
  }
  return null;
}

export function createAuth(token: string = crypto.randomBytes(24).toString('base64url')): WebAuth {
  const instance = crypto.randomBytes(6).toString('hex');
  const session = crypto.randomBytes(24).toString('base64url');
  const cookieName = `finetune_${instance}`;
  return {
    token,
    cookieName,
    credentials(req, url) {
      const header = req.headers[TOKEN_HEADER];
      const query = url.searchParams.get('token');
      const cookie = readCookie(req, cookieName);
      return {
        header: typeof header === 'string' && tokensEqual(header, token),
        query: query !== null && tokensEqual(query, token),
        session: cookie !== null && tokensEqual(cookie, session),
      };
    },
    sessionCookie: () => `${cookieName}=${session}; HttpOnly; SameSite=Strict; Path=/`,
    sameOrigin(req, port) {
      const site = req.headers['sec-fetch-site'];
      if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') return false;
      const origin = req.headers.origin;
      if (typeof origin === 'string' && origin !== `http://127.0.0.1:${port}` && origin !== `http://localhost:${port}`) return false;
      return true;
    },
  };
}
