import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfig } from '../../functions/core/config';
import { ConfigError } from '../../functions/core/errors';
import { cdkJsonContext } from '../../lib/aws/app';
import { loadConfigFile } from '../../lib/aws/config-file';
import { exampleConfigPath } from './support';

const directory = mkdtempSync(join(tmpdir(), 'access-review-config-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const path = join(directory, name);
  writeFileSync(path, text);
  return path;
}

function configErrorOf(action: () => unknown): ConfigError {
  try {
    action();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError, nothing was thrown');
}

describe('loadConfigFile (what bin/app.ts synthesizes from)', () => {
  it('loads the documented example; cdk.json names no default (a deploy must name its own file)', () => {
    expect(cdkJsonContext()).not.toHaveProperty('configFile');
    const config = loadConfigFile(exampleConfigPath);
    expect(config).toEqual(parseConfig(parse(readFileSync(exampleConfigPath, 'utf8'))));
    expect(config.github.organization).toBe('acme');
    expect(config.review.windowHours).toBe(336);
  });

  it('names every bad field of a bad file at once', () => {
    const path = write(
      'bad.yaml',
      [
        'github: { organization: "not a login!" }',
        'routing:',
        '  owners: [{ resource: acme/api, resourceType: repo, reviewer: bob }]',
        '  fallbackReviewers: []',
        'people: [{ github: alice, email: nope }]',
        'review: { windowHours: 10000 }',
        'schedule: { timezone: Mars/Olympus }',
        'surprise: true',
      ].join('\n'),
    );
    const error = configErrorOf(() => loadConfigFile(path));
    const problems = error.problems.join('\n');
    for (const field of [
      'github.organization',
      'routing.owners[0].resourceType',
      'routing.fallbackReviewers',
      'people[0].email',
      'review.windowHours',
      'schedule.timezone',
      'surprise',
    ]) {
      expect(problems).toContain(field);
    }
    expect(error.message).toContain(path);
  });

  it('reports cross-field problems (reviewers not listed in people)', () => {
    const path = write(
      'unknown-reviewer.yaml',
      'github: { organization: acme }\nrouting: { fallbackReviewers: [zed] }\npeople: []\n',
    );
    expect(configErrorOf(() => loadConfigFile(path)).problems).toEqual([
      'routing.fallbackReviewers[0]: "zed" is not listed in people',
    ]);
  });

  it('turns YAML syntax errors and duplicate keys into ConfigError', () => {
    const syntax = write('syntax.yaml', 'github: { organization: acme\nrouting: [\n');
    expect(configErrorOf(() => loadConfigFile(syntax)).problems.length).toBeGreaterThan(0);
    const duplicate = write(
      'duplicate.yaml',
      'github: { organization: acme }\ngithub: { organization: other }\n',
    );
    expect(configErrorOf(() => loadConfigFile(duplicate)).problems.join('\n')).toMatch(/unique|duplicate/i);
  });

  it('names a missing file', () => {
    const error = configErrorOf(() => loadConfigFile(join(directory, 'absent.yaml')));
    expect(error.message).toContain('absent.yaml');
  });
});
