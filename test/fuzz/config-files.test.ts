import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { parseConfig } from '../../functions/core/config';
import { ConfigError } from '../../functions/core/errors';
import { prototypeKeyPaths } from '../../functions/core/records';
import { loadConfigFile } from '../../lib/aws/config-file';
import { parseScenario } from '../../sandbox/scenario';
import { applyEdits, editArb } from './document-mutations';
import { fuzzParameters } from './fuzz-parameters';

/**
 * Configuration and scenario input, fuzzed: edits of the shipped example and demo scenario (the
 * inputs that get furthest), arbitrary values, and damaged YAML text. Every input must give a
 * valid result or a ConfigError that names what is wrong; any other exception is a bug.
 */

const EXAMPLE_YAML = readFileSync('config/access-review.example.yaml', 'utf8');
const EXAMPLE = parseYaml(EXAMPLE_YAML) as unknown;
const SCENARIO = parseYaml(readFileSync('sandbox/scenarios/acme.yaml', 'utf8')) as unknown;
const dir = mkdtempSync(join(tmpdir(), 'config-fuzz-'));
let fileCount = 0;

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `parse`; a ConfigError must list problems, each a non-empty line; anything else is rethrown. */
function outcome(parse: () => unknown): { ok: true } | { ok: false; problems: string[] } {
  try {
    parse();
    return { ok: true };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    expect(error.problems.length).toBeGreaterThan(0);
    for (const problem of error.problems) {
      expect(typeof problem).toBe('string');
      expect(problem.trim()).not.toBe('');
    }
    return { ok: false, problems: error.problems };
  }
}

/** A refused prototype key is named by its path. */
function expectPrototypeKeysNamed(input: unknown, result: ReturnType<typeof outcome>, prefix = ''): void {
  const paths = prototypeKeyPaths(input);
  if (paths.length === 0) return;
  expect(result.ok).toBe(false);
  if (!result.ok) {
    for (const path of paths) expect(result.problems.join('\n')).toContain(`${prefix}${path}`);
  }
}

const textEdit = fc.oneof(
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.string({ unit: 'binary', maxLength: 12 }),
  }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.constantFrom(
      ':',
      '- ',
      '  ',
      '\t',
      '&a ',
      '*a',
      '<<: *a',
      '!!binary ',
      '!!js/function ',
      '{',
      ']',
      '"',
      '\n__proto__: {}\n',
      '? ',
    ),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
);

describe('fuzzing configuration', () => {
  it('parseConfig: an edited example is a config or a ConfigError naming fields', () => {
    fc.assert(
      fc.property(fc.array(editArb, { minLength: 1, maxLength: 4 }), (edits) => {
        const { value } = applyEdits(EXAMPLE, edits);
        expectPrototypeKeysNamed(
          value,
          outcome(() => parseConfig(value)),
        );
      }),
      fuzzParameters(400),
    );
  });

  it('parseConfig: any value at all is a config or a ConfigError', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        expectPrototypeKeysNamed(
          value,
          outcome(() => parseConfig(value)),
        );
      }),
      fuzzParameters(300),
    );
  });

  it('loadConfigFile: damaged YAML text and edited documents are a config or a ConfigError', () => {
    const text = fc.oneof(
      fc.array(textEdit, { minLength: 1, maxLength: 4 }).map((edits) => {
        let yaml = EXAMPLE_YAML;
        for (const edit of edits) {
          const at = edit.at % (yaml.length + 1);
          yaml =
            edit.kind === 'insert'
              ? yaml.slice(0, at) + edit.text + yaml.slice(at)
              : yaml.slice(0, at) + yaml.slice(at + edit.length);
        }
        return yaml;
      }),
      fc
        .array(editArb, { minLength: 1, maxLength: 3 })
        .map((edits) => stringifyYaml(applyEdits(EXAMPLE, edits).value)),
      fc.string({ unit: 'binary', maxLength: 200 }),
    );
    fc.assert(
      fc.property(text, (yaml) => {
        const path = join(dir, `config-${fileCount++}.yaml`);
        writeFileSync(path, yaml);
        outcome(() => loadConfigFile(path));
      }),
      fuzzParameters(300),
    );
  });
});

describe('configuration YAML the fuzzer found loadConfigFile throwing on (fixed)', () => {
  const cases = {
    'an unresolved alias': 'github: *nope\n',
    'an alias bomb': `a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [${'*a,'.repeat(8)}*a]\nc: &c [${'*b,'.repeat(8)}*b]\nd: [${'*c,'.repeat(8)}*c]\n`,
  };
  for (const [name, yaml] of Object.entries(cases)) {
    it(`${name} is a ConfigError`, () => {
      const path = join(dir, `known-${fileCount++}.yaml`);
      writeFileSync(path, yaml);
      expect(outcome(() => loadConfigFile(path)).ok).toBe(false);
    });
  }
});

describe('fuzzing scenarios', () => {
  it('parseScenario: an edited demo scenario is a scenario or a ConfigError naming fields', () => {
    fc.assert(
      fc.property(fc.array(editArb, { minLength: 1, maxLength: 3 }), (edits) => {
        const { value } = applyEdits(SCENARIO, edits);
        expectPrototypeKeysNamed(
          value,
          outcome(() => parseScenario(value)),
        );
      }),
      fuzzParameters(150),
    );
  });

  it('parseScenario: any value at all is a scenario or a ConfigError', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        expectPrototypeKeysNamed(
          value,
          outcome(() => parseScenario(value)),
        );
      }),
      fuzzParameters(200),
    );
  });
});
