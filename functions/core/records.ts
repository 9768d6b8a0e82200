import { AccessReviewError } from './errors';

/**
 * A parsed record (JSON, YAML, a form field) carrying a key that rewrites an object's prototype
 * when the record is merged or copied naively: `__proto__` anywhere, or `constructor` holding a
 * `prototype`, as fastify's secure-json-parse defines them. Such input is refused, never repaired.
 */
export class UnsafeRecordError extends AccessReviewError {
  constructor(
    readonly what: string,
    readonly paths: string[],
  ) {
    super(`${what} is refused: ${paths.map((path) => `${path} is not an accepted key`).join('; ')}`);
  }
}

/** Every path (`organization.members[0].__proto__`) at which `value` carries a prototype key. */
export function prototypeKeyPaths(value: unknown, path = ''): string[] {
  if (value === null || typeof value !== 'object') return [];
  const found: string[] = [];
  if (Array.isArray(value)) {
    value.forEach((item, index) => {
      found.push(...prototypeKeyPaths(item, `${path}[${index}]`));
    });
    return found;
  }
  for (const key of Object.keys(value)) {
    const child = (value as Record<string, unknown>)[key];
    const at = path === '' ? key : `${path}.${key}`;
    if (key === '__proto__') {
      found.push(at);
      continue;
    }
    if (key === 'constructor' && child !== null && typeof child === 'object' && 'prototype' in child) {
      found.push(`${at}.prototype`);
      continue;
    }
    found.push(...prototypeKeyPaths(child, at));
  }
  return found;
}

/** Throws UnsafeRecordError naming every prototype key in `value`; returns `value` otherwise. */
export function refusePrototypeKeys<T>(value: T, what: string): T {
  const paths = prototypeKeyPaths(value);
  if (paths.length > 0) throw new UnsafeRecordError(what, paths);
  return value;
}

/** JSON.parse for records that arrive from outside (requests, files): prototype keys refused. */
export function parseJsonRecord(text: string, what: string): unknown {
  return refusePrototypeKeys(JSON.parse(text) as unknown, what);
}
