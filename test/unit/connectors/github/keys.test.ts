import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  coversPermissions,
  parsePermissionSummary,
  permissionSummary,
  sourcePermission,
  splitInOrganization,
} from '../../../../functions/connectors/github/keys';
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

describe('permission summaries of apps and tokens', () => {
  const permissions = fc.dictionary(
    fc.stringMatching(/^[a-z][a-z_]{0,15}$/),
    fc.constantFrom('read', 'write', 'admin'),
    { maxKeys: 6 },
  );

  it('reads back every summary it writes', () => {
    fc.assert(
      fc.property(permissions, (held) => {
        expect(parsePermissionSummary(permissionSummary(held))).toEqual(held);
      }),
    );
  });

  it('covers what was reviewed when every permission is held at that level or higher, never otherwise', () => {
    fc.assert(
      fc.property(permissions, permissions, (held, extra) => {
        const reviewed = permissionSummary(held);
        expect(coversPermissions(held, reviewed)).toBe(true);
        expect(coversPermissions({ ...extra, ...held }, reviewed)).toBe(true);
      }),
    );
    // …and lowering any one reviewed permission below its level uncovers it.
    fc.assert(
      fc.property(
        permissions.filter((held) => Object.values(held).some((level) => level !== 'read')),
        (held) => {
          const [name, level] = Object.entries(held).find(([, value]) => value !== 'read') ?? ['', ''];
          const lowered = { ...held, [name]: level === 'admin' ? 'write' : 'read' };
          expect(coversPermissions(lowered, permissionSummary(held))).toBe(false);
        },
      ),
    );
    expect(coversPermissions({ contents: 'admin' }, 'contents:write')).toBe(true);
    expect(coversPermissions({ contents: 'read' }, 'contents:write')).toBe(false);
    expect(coversPermissions({ pages: 'write' }, 'contents:read, pages:write')).toBe(false);
    expect(coversPermissions({}, 'no permissions')).toBe(true);
    // A level GitHub may add later is compared exactly, never read as covered or gone by rank.
    expect(coversPermissions({ secrets: 'triage' }, 'secrets:triage')).toBe(true);
    expect(coversPermissions({ secrets: 'admin' }, 'secrets:triage')).toBe(false);
  });
});
