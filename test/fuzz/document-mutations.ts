import fc from 'fast-check';

/**
 * Random edits of a valid document (a configuration, a scenario): the inputs most likely to get
 * past the first checks and reach the code that trusts them. Edits are data, so fast-check prints
 * and shrinks them; each names its target by an index into the document's paths.
 */
export type Edit =
  | { kind: 'omit'; target: number }
  | { kind: 'set'; target: number; value: unknown }
  | { kind: 'prototype'; target: number; key: '__proto__' | 'constructor'; value: unknown }
  | { kind: 'duplicate'; target: number }
  | { kind: 'rename'; target: number; name: string };

const oddValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(null, '', ' ', 0, -1, 1e308, true, [], {}, 'https://evil.example/', 'http://127.0.0.1:1/'),
  fc.string({ unit: 'binary', maxLength: 30 }),
);

export const editArb: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constant('omit' as const), target: fc.nat() }),
  fc.record({ kind: fc.constant('set' as const), target: fc.nat(), value: oddValue }),
  fc.record({
    kind: fc.constant('prototype' as const),
    target: fc.nat(),
    key: fc.constantFrom('__proto__' as const, 'constructor' as const),
    value: fc.jsonValue({ maxDepth: 1 }),
  }),
  fc.record({ kind: fc.constant('duplicate' as const), target: fc.nat() }),
  fc.record({ kind: fc.constant('rename' as const), target: fc.nat(), name: fc.string({ maxLength: 12 }) }),
);

type Container = Record<string, unknown> | unknown[];

/** Every (container, key) in `root`, depth first; the root itself is not a target. */
function places(root: unknown): Array<{ parent: Container; key: string | number }> {
  const found: Array<{ parent: Container; key: string | number }> = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) {
      node.forEach((child, index) => {
        found.push({ parent: node, key: index });
        walk(child);
      });
    } else if (node !== null && typeof node === 'object') {
      for (const [key, child] of Object.entries(node)) {
        found.push({ parent: node as Record<string, unknown>, key });
        walk(child);
      }
    }
  };
  walk(root);
  return found;
}

/** Applies `edits` to a deep copy of `document`; reports whether a prototype key is left in it. */
export function applyEdits(document: unknown, edits: Edit[]): { value: unknown; prototypeKey: boolean } {
  const value = structuredClone(document);
  let inserted = false;
  for (const edit of edits) {
    const all = places(value);
    if (all.length === 0) break;
    const { parent, key } = all[edit.target % all.length] as { parent: Container; key: string | number };
    const child = Array.isArray(parent) ? parent[key as number] : parent[key as string];
    switch (edit.kind) {
      case 'omit':
        if (Array.isArray(parent)) parent.splice(key as number, 1);
        else delete parent[key as string];
        break;
      case 'set':
        if (Array.isArray(parent)) parent[key as number] = edit.value;
        else parent[key as string] = edit.value;
        break;
      case 'duplicate':
        if (Array.isArray(parent)) parent.push(structuredClone(child));
        break;
      case 'rename':
        if (!Array.isArray(parent) && edit.name !== '__proto__') {
          delete parent[key as string];
          parent[edit.name] = child;
        }
        break;
      case 'prototype': {
        const target = child !== null && typeof child === 'object' && !Array.isArray(child) ? child : parent;
        if (Array.isArray(target)) break;
        // An own property, as JSON.parse and YAML parsers create it (an assignment would not).
        Object.defineProperty(target, edit.key, {
          value: edit.key === 'constructor' ? { prototype: edit.value } : edit.value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
        inserted = true;
        break;
      }
    }
  }
  return { value, prototypeKey: inserted && /"(__proto__|constructor)":/.test(JSON.stringify(value)) };
}
