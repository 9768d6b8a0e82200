import { describe, expect, it } from 'vitest';
import { sourcePermission, splitInOrganization } from '../../../../functions/connectors/github/keys';
import { ConnectorError } from '../../../../functions/core/errors';

const source = (permission: 'NONE' | 'READ' | 'WRITE' | 'ADMIN', roleName: string | null) => ({
  permission,
  roleName,
  source: { __typename: 'Organization' as const, login: 'acme' },
});

describe('sourcePermission', () => {
  it('takes triage and maintain from roleName, where PermissionSource.permission cannot express them', () => {
    expect(sourcePermission(source('READ', 'triage'))).toBe('triage');
    expect(sourcePermission(source('WRITE', 'maintain'))).toBe('maintain');
  });

  it('falls back to the permission for custom or missing role names', () => {
    expect(sourcePermission(source('WRITE', 'release-manager'))).toBe('write');
    expect(sourcePermission(source('ADMIN', null))).toBe('admin');
  });

  it('gives nothing for a base permission of none', () => {
    expect(sourcePermission(source('NONE', null))).toBeUndefined();
    expect(sourcePermission(source('NONE', 'none'))).toBeUndefined();
  });
});

describe('splitInOrganization', () => {
  it('splits org/name of the configured organisation, case-insensitively', () => {
    expect(splitInOrganization('Acme/api', 'acme', 'repository')).toEqual(['Acme', 'api']);
  });

  it.each(['other/api', 'acme', 'acme/', '/api', 'acme/a/b'])('refuses %s', (value) => {
    expect(() => splitInOrganization(value, 'acme', 'repository')).toThrow(ConnectorError);
  });
});
