import { createPublicKey, createVerify, type KeyObject } from 'node:crypto';

/** The GitHub App the sandbox knows: tokens for its installation are minted for a JWT its key signed. */
export interface SandboxApp {
  appId: string;
  installationId: number;
  /** The app's public key (GitHub keeps the public half of the key the app owner downloads). */
  publicKey: KeyObject | string;
  /** What GET /app answers: the app's slug (its bot is `<slug>[bot]`; default `access-review`) and name. */
  slug?: string;
  name?: string;
}

const decode = (part: string) => Buffer.from(part, 'base64url');

/**
 * Verifies an app JWT as GitHub does: RS256 over `header.payload`, issued by the app (`iss`), not
 * expired, valid for at most ten minutes. Returns why it is refused, or undefined when it is good.
 */
export function jwtProblem(jwt: string, app: SandboxApp, now = Date.now()): string | undefined {
  const parts = jwt.split('.');
  if (parts.length !== 3) return 'A JSON web token could not be decoded';
  const [header, payload, signature] = parts as [string, string, string];
  let claims: { iss?: unknown; exp?: unknown; iat?: unknown };
  let algorithm: unknown;
  try {
    algorithm = (JSON.parse(decode(header).toString('utf8')) as { alg?: unknown }).alg;
    claims = JSON.parse(decode(payload).toString('utf8')) as typeof claims;
  } catch {
    return 'A JSON web token could not be decoded';
  }
  if (algorithm !== 'RS256')
    return "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires";
  const key = typeof app.publicKey === 'string' ? createPublicKey(app.publicKey) : app.publicKey;
  const verifier = createVerify('RSA-SHA256');
  verifier.update(`${header}.${payload}`);
  if (!verifier.verify(key, decode(signature))) return 'A JSON web token could not be decoded';
  if (String(claims.iss) !== app.appId) return `'Issuer' claim ('iss') must be an Integer`;
  const seconds = Math.floor(now / 1000);
  if (typeof claims.exp !== 'number' || claims.exp <= seconds) {
    return "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires";
  }
  if (typeof claims.iat === 'number' && claims.exp - claims.iat > 600 + 60) {
    return "'Expiration time' claim ('exp') is too far in the future";
  }
  return undefined;
}
