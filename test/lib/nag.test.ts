import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SynthesizedStack, synthesizeStack } from './support';

let synth: SynthesizedStack;

beforeAll(() => {
  synth = synthesizeStack();
});
afterAll(() => synth?.dispose());

interface Acknowledgement {
  path: string;
  id: string;
  reason: string;
}

function acknowledgements(root: IConstruct): Acknowledgement[] {
  const found: Acknowledgement[] = [];
  for (const construct of root.node.findAll()) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [key, reason] of Object.entries(entry.data as Record<string, unknown>)) {
        found.push({
          path: construct.node.path,
          id: key.replace(/^annotation::/i, ''),
          reason: String(reason),
        });
      }
    }
  }
  return found;
}

/** Every finding AwsSolutions would report if nothing were acknowledged, as `path id`. */
function rawFindings(root: IConstruct): Set<string> {
  const pack = new AwsSolutionsChecks(synth.app);
  // cdk-nag 3 has no public switch to ignore acknowledgements; replacing its private check on
  // this one instance is the only way to see what each acknowledgement actually hides.
  (pack as unknown as { isAcknowledged: () => boolean }).isAcknowledged = () => false;
  const findings = new Set<string>();
  for (const violation of pack.validateScope(root).violations) {
    for (const resource of violation.violatingResources)
      findings.add(`${resource.constructPath} ${violation.ruleName}`);
  }
  return findings;
}

describe('cdk-nag AwsSolutions', () => {
  it('reports no unacknowledged finding', () => {
    const report = new AwsSolutionsChecks(synth.app).validateScope(synth.stack);
    expect(report.violations.map((violation) => violation.ruleName)).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('gives every acknowledgement a specific reason', () => {
    const found = acknowledgements(synth.stack);
    expect(found.length).toBeGreaterThan(0);
    for (const acknowledgement of found) {
      expect(
        acknowledgement.reason.trim().length,
        `${acknowledgement.path} ${acknowledgement.id}`,
      ).toBeGreaterThan(40);
    }
  });

  it('acknowledges on the construct concerned, never on the whole stack or app', () => {
    const found = acknowledgements(synth.app);
    expect(found.filter((acknowledgement) => acknowledgement.path === synth.stack.node.path)).toEqual([]);
    expect(found.filter((acknowledgement) => acknowledgement.path === '')).toEqual([]);
  });

  it('has no stale acknowledgement: each one hides a finding on or under its construct', () => {
    const findings = [...rawFindings(synth.stack)];
    for (const acknowledgement of acknowledgements(synth.stack)) {
      const hidden = findings.filter(
        (finding) =>
          finding.startsWith(`${acknowledgement.path}/`) && finding.endsWith(` ${acknowledgement.id}`),
      );
      expect(hidden.length, `${acknowledgement.path} ${acknowledgement.id}`).toBeGreaterThan(0);
    }
  });
});
