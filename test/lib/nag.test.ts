import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acknowledgements, type SynthesizedStack, staleAcknowledgements, synthesizeStack } from './support';

let synth: SynthesizedStack;

beforeAll(() => {
  synth = synthesizeStack();
  // A synth takes 3–8 s on an idle machine; the allowance is for a loaded one.
}, 180_000);
afterAll(() => synth?.dispose());

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
    expect(acknowledgements(synth.stack).length).toBeGreaterThan(0);
    expect(staleAcknowledgements(synth.app, synth.stack)).toEqual([]);
  });
});
