import { describe, expect, it } from 'vitest';
import { PolicyDocumentError } from '../../../../functions/connectors/aws/errors';
import {
  decodeIamDocument,
  nameOfArn,
  parsePolicy,
  pathOfArn,
  policyChange,
  principalsOf,
  statementCoversAction,
  statementCoversResource,
  statementLabel,
  wildcardMatch,
} from '../../../../functions/connectors/aws/policy-documents';

describe('policy documents', () => {
  it('decodes what IAM returns (RFC 3986 URL encoding), and leaves plain JSON alone', () => {
    const text =
      '{"Version":"2012-10-17","Statement":[{"Sid":"100%","Effect":"Allow","Action":"s3:*","Resource":"*"}]}';
    const encoded = encodeURIComponent(text).replace(
      /[!'()*]/g,
      (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
    );
    expect(decodeIamDocument(encoded)).toBe(text);
    expect(decodeIamDocument(text)).toBe(text);
    expect(() => decodeIamDocument('%E0%A4%A')).toThrow(PolicyDocumentError);
  });

  it('refuses what is not a policy, naming it', () => {
    expect(() => parsePolicy('{', 'the resource policy of x')).toThrow(
      /the resource policy of x is not valid JSON/,
    );
    expect(() => parsePolicy('[]', 'p')).toThrow(/not a JSON object/);
    expect(() => parsePolicy('{"Statement":[{"Action":"*"}]}', 'p')).toThrow(/statement 1 has no Effect/);
    expect(
      parsePolicy('{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}', 'p').Statement,
    ).toEqual({
      Effect: 'Allow',
      Action: '*',
      Resource: '*',
    });
  });

  it('matches actions without case and resources with it, * and ? as IAM does', () => {
    expect(wildcardMatch('secretsmanager:Get*', 'secretsmanager:GetSecretValue')).toBe(true);
    expect(
      statementCoversAction(
        { Effect: 'Allow', Action: 'SecretsManager:getsecretvalue' },
        'secretsmanager:GetSecretValue',
      ),
    ).toBe(true);
    expect(
      statementCoversAction(
        { Effect: 'Allow', NotAction: 'secretsmanager:*' },
        'secretsmanager:GetSecretValue',
      ),
    ).toBe(false);
    expect(
      statementCoversAction({ Effect: 'Allow', NotAction: 's3:*' }, 'secretsmanager:GetSecretValue'),
    ).toBe(true);
    const arn = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/db-AbCdEf';
    expect(
      statementCoversResource(
        { Effect: 'Allow', Resource: 'arn:aws:secretsmanager:*:*:secret:prod/db-??????' },
        arn,
      ),
    ).toBe(true);
    expect(
      statementCoversResource({ Effect: 'Allow', Resource: 'arn:aws:secretsmanager:*:*:secret:PROD/*' }, arn),
    ).toBe(false);
    expect(statementCoversResource({ Effect: 'Allow', NotResource: arn }, arn)).toBe(false);
    expect(wildcardMatch('a.b(c)', 'a.b(c)')).toBe(true);
    expect(wildcardMatch('a.b', 'axb')).toBe(false);
  });

  it('reads principals in every form', () => {
    expect(principalsOf('*').anyone).toBe(true);
    expect(principalsOf({ AWS: ['*', '111122223333'] })).toMatchObject({
      anyone: true,
      aws: ['111122223333'],
    });
    expect(principalsOf({ Service: 'lambda.amazonaws.com', Federated: 'x' })).toMatchObject({
      anyone: false,
      service: ['lambda.amazonaws.com'],
      federated: ['x'],
    });
  });

  it('labels statements, paths and names of ARNs, and hashes documents', () => {
    expect(statementLabel({ Sid: 'ReadPayments' }, 2, 'arn:aws:iam::1:policy/X')).toBe(
      'ReadPayments (statement 2) of arn:aws:iam::1:policy/X',
    );
    expect(statementLabel({}, 1, 'the resource policy of db')).toBe(
      'statement 1 of the resource policy of db',
    );
    expect(pathOfArn('arn:aws:iam::111122223333:role/ci/deploy')).toBe('/ci/');
    expect(pathOfArn('arn:aws:iam::111122223333:user/alice')).toBe('/');
    expect(nameOfArn('arn:aws:iam::111122223333:role/ci/deploy')).toBe('deploy');
    expect(policyChange('p', 'abc', null)).toEqual({
      policy: 'p',
      before: 'abc',
      after: null,
      beforeSha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      afterSha256: null,
    });
  });
});
