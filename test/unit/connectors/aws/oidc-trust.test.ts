import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  OIDC_AUD_ALIAS,
  OIDC_SUB_ALIAS,
  Simulator,
  trustAdmits,
  withOidcAliases,
} from '../../../../functions/connectors/aws/evaluate';
import {
  isWildcardSubject,
  oidcGrants,
  oidcStatements,
  oidcTrusts,
  repositoryPart,
} from '../../../../functions/connectors/aws/oidc-roles';
import type { PolicyDocument, PolicyStatement } from '../../../../functions/connectors/aws/policy-documents';
import { statementsOf } from '../../../../functions/connectors/aws/policy-documents';
import { narrowTrust } from '../../../../functions/connectors/aws/trust-policy';
import { makeGrant } from '../../../../functions/core/grant';
import { A, doc, role, secretArn } from './fixtures';

const provider = 'token.actions.githubusercontent.com';
const providerArn = `arn:aws:iam::${A}:oidc-provider/${provider}`;
const deploy = role('deploy');
const sub = `${provider}:sub`;
const aud = `${provider}:aud`;

const oidc = (
  condition?: PolicyStatement['Condition'],
  extra: Partial<PolicyStatement> = {},
): PolicyStatement => ({
  Effect: 'Allow',
  Principal: { Federated: providerArn },
  Action: 'sts:AssumeRoleWithWebIdentity',
  ...(condition ? { Condition: condition } : {}),
  ...extra,
});

describe('reading the subjects a trust policy admits', () => {
  it('takes every positive sub operator, with ForAnyValue and IfExists variants, and the audiences', () => {
    const trust = doc(
      oidc({ StringEquals: { [aud]: 'sts.amazonaws.com', [sub]: 'repo:acme/api:ref:refs/heads/main' } }),
      oidc({ 'ForAnyValue:StringLike': { [sub]: ['repo:acme/web:*', 'repo:acme/docs:*'] } }),
      oidc({
        StringLikeIfExists: { [sub]: 'repo:acme/ops:environment:prod' },
        StringNotLike: { [sub]: 'repo:acme/ops:ref:*' },
      }),
      // Not the GitHub provider, not this action: ignored.
      { Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' },
      oidc(
        { StringEquals: { [sub]: 'repo:x/y:*' } },
        { Principal: { Federated: `arn:aws:iam::${A}:oidc-provider/gitlab.com` } },
      ),
    );
    const statements = oidcStatements(trust, deploy, provider);
    expect(
      statements.map((item) => [item.index, item.subjects, item.audiences, item.excludedSubjects]),
    ).toEqual([
      [1, ['repo:acme/api:ref:refs/heads/main'], ['sts.amazonaws.com'], []],
      [2, ['repo:acme/web:*', 'repo:acme/docs:*'], [], []],
      [3, ['repo:acme/ops:environment:prod'], [], ['repo:acme/ops:ref:*']],
    ]);
  });

  it('a statement without a sub condition admits any subject: *', () => {
    const [statement] = oidcStatements(
      doc(oidc({ StringEquals: { [aud]: 'sts.amazonaws.com' } })),
      deploy,
      provider,
    );
    expect(statement).toMatchObject({ subjects: ['*'], noSubCondition: true });
  });

  it('sub conditions under several operators are ANDed: only what satisfies all of them is a subject', () => {
    const main = 'repo:acme/api:ref:refs/heads/main';
    const [both] = oidcStatements(
      doc(
        oidc({
          StringLike: { [sub]: 'repo:acme/*' },
          StringEquals: { [sub]: main, [aud]: 'sts.amazonaws.com' },
        }),
      ),
      deploy,
      provider,
    );
    expect(both).toMatchObject({
      subjects: [main],
      noSubCondition: false,
      otherConditions: [
        `${sub} StringLike repo:acme/* (every sub condition must match)`,
        `${sub} StringEquals ${main} (every sub condition must match)`,
      ],
    });
    expect(
      oidcTrusts(
        doc(oidc({ StringLike: { [sub]: 'repo:acme/*' }, StringEquals: { [sub]: main } })),
        deploy,
        provider,
      ).trusts.map((trust) => [trust.subject, trust.flags]),
    ).toEqual([[main, ['no_audience_condition']]]);
    // Nothing satisfies both: no subject at all.
    const [none] = oidcStatements(
      doc(oidc({ StringLike: { [sub]: 'repo:other/*' }, StringEquals: { [sub]: main } })),
      deploy,
      provider,
    );
    expect(none?.subjects).toEqual([]);
    // Two patterns neither of which names the intersection: the more specific stands for it.
    const [patterns] = oidcStatements(
      doc(
        oidc({
          StringLike: { [sub]: 'repo:acme/*' },
          'ForAnyValue:StringLike': { [sub]: '*:ref:refs/heads/main' },
        }),
      ),
      deploy,
      provider,
    );
    expect(patterns?.subjects).toEqual(['*:ref:refs/heads/main']);
  });

  it('the repository part of a subject, and what counts as a wildcard subject', () => {
    expect(repositoryPart('repo:acme/api:ref:refs/heads/main')).toBe('acme/api');
    expect(repositoryPart('repo:acme/*')).toBe('acme/*');
    expect(repositoryPart('*')).toBe('*');
    expect(isWildcardSubject('repo:acme/api:*')).toBe(false);
    expect(isWildcardSubject('repo:acme/*')).toBe(true);
    expect(isWildcardSubject('repo:acme/api-?:ref:x')).toBe(true);
    expect(isWildcardSubject('*')).toBe(true);
  });

  it('flags: wildcard subject, no audience condition, trusted by many repositories', () => {
    const one = oidcTrusts(
      doc(
        oidc({
          StringEquals: {
            [aud]: 'sts.amazonaws.com',
            [sub]: ['repo:acme/api:ref:refs/heads/main', 'repo:acme/api:environment:prod'],
          },
        }),
      ),
      deploy,
      provider,
    );
    expect(one.repositories).toBe(1);
    expect(one.trusts.map((trust) => trust.flags)).toEqual([[], []]);
    const many = oidcTrusts(
      doc(
        oidc({ StringEquals: { [aud]: 'sts.amazonaws.com' }, StringLike: { [sub]: 'repo:acme/api:*' } }),
        oidc({ StringLike: { [sub]: 'repo:acme/web:*' } }),
      ),
      deploy,
      provider,
    );
    expect(many.trusts.map((trust) => [trust.subject, trust.flags])).toEqual([
      ['repo:acme/api:*', ['trusted_by_many_repositories']],
      ['repo:acme/web:*', ['no_audience_condition', 'trusted_by_many_repositories']],
    ]);
    const open = oidcTrusts(doc(oidc()), deploy, provider);
    expect(open.trusts.map((trust) => [trust.subject, trust.flags])).toEqual([
      ['*', ['wildcard_subject', 'no_audience_condition', 'trusted_by_many_repositories']],
    ]);
  });

  it('builds trust grants and one derived read per subject and secret, following from both grants', () => {
    const secret = secretArn('prod/db');
    const key = {
      connector: 'aws' as const,
      grantKind: 'secret_read' as const,
      resourceType: 'aws_secret' as const,
      resource: secret,
      principalType: 'iam_role' as const,
      principal: deploy.arn,
      entitlement: 'read',
    };
    const viaPolicy = makeGrant(
      { ...key, via: { kind: 'identity_policy', policy: 'arn:aws:iam::111122223333:policy/P' } },
      { raw: { secretName: 'prod/db', statements: ['s1'], kmsStatements: ['k1'] } },
    );
    const viaResource = makeGrant(
      { ...key, via: { kind: 'resource_policy' } },
      { raw: { secretName: 'prod/db', statements: ['s2'] } },
    );
    const withTrust = {
      ...deploy,
      trustPolicy: doc(oidc({ StringEquals: { [aud]: 'sts.amazonaws.com', [sub]: 'repo:acme/api:*' } })),
    };
    const grants = oidcGrants(withTrust, { accountId: A, name: 'production' }, provider, [
      { grant: viaPolicy, secretName: 'prod/db' },
      { grant: viaResource, secretName: 'prod/db' },
    ]);
    expect(grants).toHaveLength(2);
    const [trust, derived] = grants;
    expect(trust).toMatchObject({
      grantKind: 'oidc_role_trust',
      resource: deploy.arn,
      principalType: 'oidc_subject',
      principal: 'repo:acme/api:*',
      entitlement: 'assume',
      raw: {
        roleName: 'deploy',
        accountId: A,
        accountName: 'production',
        audiences: ['sts.amazonaws.com'],
        repositories: 1,
        readableSecrets: ['prod/db'],
      },
    });
    expect(derived).toMatchObject({
      grantKind: 'secret_read',
      resource: secret,
      principal: 'repo:acme/api:*',
      via: { kind: 'assumed_role', role: deploy.arn },
      reviewable: false,
      derivedFrom: [trust?.grantId, viaPolicy.grantId, viaResource.grantId],
      raw: { statements: ['s1', 's2'], kmsStatements: ['k1'], roleName: 'deploy' },
    });
  });
});

describe('narrowing a trust policy', () => {
  it('removes the pattern from the sub condition and keeps the others', () => {
    const trust = doc(
      oidc({
        StringEquals: { [aud]: 'sts.amazonaws.com' },
        StringLike: { [sub]: ['repo:acme/*', 'repo:acme/api:*'] },
      }),
    );
    const narrowed = narrowTrust(trust, deploy, provider, 'repo:acme/*');
    expect(narrowed.after).toEqual(
      doc(oidc({ StringEquals: { [aud]: 'sts.amazonaws.com' }, StringLike: { [sub]: ['repo:acme/api:*'] } })),
    );
    expect(narrowed.edits).toEqual([
      `removed subject repo:acme/* from statement 1 of the trust policy of ${deploy.arn}`,
    ]);
  });

  it('removes the whole statement when one of its ANDed sub conditions loses its last value', () => {
    const main = 'repo:acme/api:ref:refs/heads/main';
    const trust = doc(
      oidc({
        StringLike: { [sub]: 'repo:acme/*' },
        StringEquals: { [sub]: main, [aud]: 'sts.amazonaws.com' },
      }),
      oidc({ StringLike: { [sub]: 'repo:acme/web:*' } }),
    );
    const narrowed = narrowTrust(trust, deploy, provider, main);
    expect(statementsOf(narrowed.after)).toEqual([oidc({ StringLike: { [sub]: 'repo:acme/web:*' } })]);
    expect(narrowed.edits).toEqual([
      `removed statement 1 of the trust policy of ${deploy.arn}: ${main} was the only value of its StringEquals sub condition, and IAM requires all 2 of its sub conditions to match, so keeping the others would admit subjects it did not`,
    ]);
  });

  it('removes a statement left without a subject, never leaving one with no sub condition', () => {
    const trust = doc(oidc({ StringLike: { [sub]: 'repo:acme/api:*' } }), {
      Effect: 'Allow',
      Principal: { Service: 'ec2.amazonaws.com' },
      Action: 'sts:AssumeRole',
    });
    const narrowed = narrowTrust(trust, deploy, provider, 'repo:acme/api:*');
    expect(statementsOf(narrowed.after)).toEqual([
      { Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' },
    ]);
  });

  it('removing * removes the statements without a sub condition', () => {
    const trust = doc(
      oidc({ StringEquals: { [aud]: 'sts.amazonaws.com' } }),
      oidc({ StringLike: { [sub]: 'repo:acme/api:*' } }),
    );
    expect(statementsOf(narrowTrust(trust, deploy, provider, '*').after)).toEqual([
      oidc({ StringLike: { [sub]: 'repo:acme/api:*' } }),
    ]);
  });

  it('when nothing remains, writes an explicit Deny rather than an empty policy', () => {
    const narrowed = narrowTrust(
      doc(oidc({ StringEquals: { [sub]: 'repo:acme/api:*' } })),
      deploy,
      provider,
      'repo:acme/api:*',
    );
    expect(narrowed.denyAll).toBe(true);
    expect(statementsOf(narrowed.after)).toEqual([
      {
        Sid: 'AccessReviewRevokedEverySubject',
        Effect: 'Deny',
        Principal: { Federated: providerArn },
        Action: 'sts:AssumeRoleWithWebIdentity',
      },
    ]);
  });

  it('a statement that also admits other principals keeps them: only the GitHub provider leaves its Principal', () => {
    const gitlab = `arn:aws:iam::${A}:oidc-provider/gitlab.example.com`;
    const root = `arn:aws:iam::${A}:root`;
    // No sub condition, the account root too (plan1's "mixed"): revoking * keeps the root's AssumeRole.
    const both = {
      Sid: 'Both',
      Effect: 'Allow' as const,
      Principal: { Federated: providerArn, AWS: root },
      Action: ['sts:AssumeRoleWithWebIdentity', 'sts:AssumeRole'],
    };
    const open = narrowTrust(doc(both), deploy, provider, '*');
    expect(statementsOf(open.after)).toEqual([{ ...both, Principal: { AWS: root } }]);
    expect(open.denyAll).toBe(false);
    expect(open.edits).toEqual([
      `removed the GitHub provider from the Principal of Both (statement 1) of the trust policy of ${deploy.arn}, which still admits AWS ${root}: it had no sub condition, so it admitted every subject`,
    ]);
    // Two providers (trust3): the last GitHub subject goes with the GitHub provider; the
    // conditions stay as written (dropping the GitHub sub value would admit every GitHub subject).
    const fed = oidc(
      {
        StringEqualsIfExists: { [sub]: 'repo:acme/api:ref:refs/heads/main' },
        StringLikeIfExists: { 'gitlab.example.com:sub': 'project_path:acme/*' },
      },
      { Sid: 'Fed', Principal: { Federated: [providerArn, gitlab] } },
    );
    const narrowed = narrowTrust(doc(fed), deploy, provider, 'repo:acme/api:ref:refs/heads/main');
    expect(statementsOf(narrowed.after)).toEqual([{ ...fed, Principal: { Federated: [gitlab] } }]);
    // "AWS": "*" left would still admit GitHub tokens: the statement goes, as before.
    const star = oidc(
      { StringEquals: { [sub]: 'repo:acme/api:*' } },
      { Principal: { Federated: providerArn, AWS: '*' } },
    );
    expect(statementsOf(narrowTrust(doc(star), deploy, provider, 'repo:acme/api:*').after)).toEqual([
      expect.objectContaining({ Effect: 'Deny', Sid: 'AccessReviewRevokedEverySubject' }),
    ]);
  });

  it('a pattern not written in the policy changes nothing (another pattern that matches it is its own grant)', () => {
    const trust = doc(oidc({ StringLike: { [sub]: 'repo:acme/*' } }));
    expect(narrowTrust(trust, deploy, provider, 'repo:acme/api:*')).toEqual({ edits: [], denyAll: false });
  });
});

/*
 * For any trust policy, statements with several sub conditions included (IAM ANDs condition
 * operators): the subject stops being written, no subject refused before is admitted after, and
 * the other subjects still match unless they came only from a statement the revoke had to remove.
 */

const subjects = [
  'repo:acme/api:*',
  'repo:acme/api:ref:refs/heads/main',
  'repo:acme/web:ref:refs/heads/main',
  'repo:acme/*',
  'repo:other/x:environment:prod',
  '*:ref:refs/heads/main',
  '*',
];
/** Concrete subjects a token can carry, and the written patterns taken literally. */
const probes = [
  ...subjects,
  'repo:acme/api:pull_request',
  'repo:acme/docs:ref:refs/heads/main',
  'REPO:ACME/WEB:REF:REFS/HEADS/MAIN',
  'repo:other/y:ref:refs/heads/main',
];
const subOperators = [
  'StringEquals',
  'StringLike',
  'ForAnyValue:StringLike',
  'StringEqualsIgnoreCase',
  'StringLikeIfExists',
];
const GITLAB = `arn:aws:iam::${A}:oidc-provider/gitlab.example.com`;
const ROOT = `arn:aws:iam::${A}:root`;
const SERVICE = 'ecs-tasks.amazonaws.com';
/** Who else a statement may admit besides the GitHub provider. */
const otherPrincipals: fc.Arbitrary<Record<string, string>> = fc.constantFrom<Record<string, string>>(
  {},
  {},
  { AWS: ROOT },
  { Federated: GITLAB },
  { Service: SERVICE },
);
const statementArbitrary: fc.Arbitrary<PolicyStatement> = fc
  .record({
    conditions: fc.uniqueArray(
      fc.record({
        operator: fc.constantFrom(...subOperators),
        values: fc.uniqueArray(fc.constantFrom(...subjects.filter((item) => item !== '*')), {
          minLength: 1,
          maxLength: 3,
        }),
      }),
      { selector: (condition) => condition.operator, minLength: 0, maxLength: 3 },
    ),
    audience: fc.constantFrom(undefined, 'sts.amazonaws.com', 'https://github.com/acme'),
    others: otherPrincipals,
    assumeRole: fc.boolean(),
  })
  .map(({ conditions, audience, others, assumeRole }) => {
    const condition: Record<string, Record<string, unknown>> = {};
    for (const { operator, values } of conditions) {
      condition[operator] = { [sub]: values.length === 1 ? values[0] : values };
    }
    if (audience) condition.StringEquals = { ...(condition.StringEquals ?? {}), [aud]: audience };
    const federated = others.Federated ? [providerArn, others.Federated] : providerArn;
    return oidc(Object.keys(condition).length > 0 ? condition : undefined, {
      Principal: { ...others, Federated: federated },
      ...(assumeRole ? { Action: ['sts:AssumeRoleWithWebIdentity', 'sts:AssumeRole'] } : {}),
    });
  });
const trustArbitrary: fc.Arbitrary<PolicyDocument> = fc
  .array(statementArbitrary, { minLength: 1, maxLength: 4 })
  .map((items) => doc(...items));

/** Every value a statement writes in a positive sub condition. */
function writtenSubjects(statement: PolicyStatement | undefined): string[] {
  return Object.entries(statement?.Condition ?? {}).flatMap(([operator, entries]) =>
    operator.includes('Not')
      ? []
      : Object.entries(entries).flatMap(([key, value]) =>
          key === sub ? (Array.isArray(value) ? value.map(String) : [String(value)]) : [],
        ),
  );
}

/** Everyone else a trust policy may admit: the account (through a role of it), GitLab tokens, a service. */
const otherCallers: { principal: string; action: string; identity: boolean }[] = [
  { principal: `arn:aws:iam::${A}:role/operator`, action: 'sts:AssumeRole', identity: true },
  { principal: GITLAB, action: 'sts:AssumeRoleWithWebIdentity', identity: false },
  { principal: SERVICE, action: 'sts:AssumeRole', identity: false },
];

describe('narrowing any trust policy', () => {
  it('the revoked subject is no longer written, nothing refused before is admitted after, and untouched statements keep their subjects', async () => {
    const simulator = new Simulator();
    const admits = async (document: PolicyDocument, subject: string) =>
      (await trustAdmits(document, deploy, provider, subject, simulator)) !== undefined;
    /** Whether another caller (no GitHub token: no sub, no aud) may assume the role. */
    const otherAdmitted = async (document: PolicyDocument, caller: (typeof otherCallers)[number]) =>
      (
        await simulator.run(
          {
            identityPolicies: caller.identity
              ? [{ name: 'all', policy: doc({ Effect: 'Allow', Action: '*', Resource: '*' }) }]
              : [],
            serviceControlPolicies: [],
            resourceControlPolicies: [],
            resourcePolicy: withOidcAliases(document, provider),
            request: {
              action: caller.action,
              principal: caller.principal,
              resource: { accountId: A, resource: deploy.arn },
              contextVariables: {},
            },
          },
          [OIDC_SUB_ALIAS, OIDC_AUD_ALIAS].map((keyName) => ({
            keyName,
            presenceIsKnown: true,
            valueIsKnown: true,
          })),
          `${caller.action} by ${caller.principal}`,
        )
      ).allowed;
    await fc.assert(
      fc.asyncProperty(trustArbitrary, async (trust) => {
        const before = new Map<string, boolean>();
        for (const probe of probes) before.set(probe, await admits(trust, probe));
        const trusts = oidcTrusts(trust, deploy, provider).trusts;
        const othersBefore = await Promise.all(otherCallers.map((caller) => otherAdmitted(trust, caller)));
        for (const { subject } of trusts) {
          const narrowed = narrowTrust(trust, deploy, provider, subject);
          expect(narrowed.after).toBeDefined();
          const after = narrowed.after as PolicyDocument;
          // Every other principal the policy admitted (the account, another provider, a service) still is, and no more.
          for (const [index, caller] of otherCallers.entries()) {
            expect({
              subject,
              caller: caller.principal,
              admitted: await otherAdmitted(after, caller),
            }).toEqual({
              subject,
              caller: caller.principal,
              admitted: othersBefore[index],
            });
          }
          // A narrowing never creates a statement without a sub condition, and removing * removes them all.
          const open = (document: PolicyDocument) =>
            oidcStatements(document, deploy, provider).filter((statement) => statement.noSubCondition).length;
          expect(open(after)).toBe(subject === '*' ? 0 : open(trust));
          const stillWritten = oidcTrusts(after, deploy, provider).trusts.map((item) => item.subject);
          expect(stillWritten).not.toContain(subject);
          for (const probe of probes) {
            if (!before.get(probe))
              expect({ probe, admitted: await admits(after, probe) }).toEqual({ probe, admitted: false });
          }
          // A subject admitted by a statement that does not write the revoked one still matches.
          for (const other of trusts.filter((item) => item.subject !== subject)) {
            const untouched = other.statements.some(
              (statement) =>
                !writtenSubjects(statementsOf(trust)[statement.index - 1]).includes(subject) &&
                !(subject === '*' && statement.noSubCondition),
            );
            // (taken literally, or still reported: a pattern standing for an intersection of patterns)
            if (untouched) {
              expect((await admits(after, other.subject)) || stillWritten.includes(other.subject)).toBe(true);
            }
          }
        }
      }),
      { numRuns: 60 },
    );
  });
});
