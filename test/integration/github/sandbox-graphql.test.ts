import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { GitHubSandbox } from '../../../sandbox/github/server';
import type { OrganizationInput } from '../../../sandbox/github/state';
import { acmeOrganization, startSandbox, TOKEN } from './helpers';

let sandbox: GitHubSandbox;
afterEach(() => sandbox.close());

interface GraphQLAnswer {
  status: number;
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; type?: string; path?: unknown[]; extensions?: Record<string, unknown> }>;
}

async function graphql(query: string, variables: Record<string, unknown> = {}): Promise<GraphQLAnswer> {
  const response = await fetch(`${sandbox.url}/graphql`, {
    method: 'POST',
    headers: { authorization: `bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  return { status: response.status, ...((await response.json()) as Omit<GraphQLAnswer, 'status'>) };
}

describe('GitHub sandbox GraphQL: GitHub schema rules', () => {
  beforeEach(async () => {
    sandbox = await startSandbox(await acmeOrganization());
  });

  it('rejects a field GitHub does not have, with HTTP 200 and GitHub wording', async () => {
    const answer = await graphql('{ organization(login: "acme") { login members { totalCount } } }');
    expect(answer.status).toBe(200);
    expect(answer.data).toBeUndefined();
    expect(answer.errors).toEqual([
      expect.objectContaining({
        message: "Field 'members' doesn't exist on type 'Organization'",
        extensions: expect.objectContaining({
          code: 'undefinedField',
          typeName: 'Organization',
          fieldName: 'members',
        }),
      }),
    ]);
  });

  it('rejects syntax errors and wrong argument types', async () => {
    expect((await graphql('{ organization(login: "acme") { login ')).errors?.[0]?.message).toMatch(
      /Syntax Error/,
    );
    const wrongType = await graphql('{ organization(login: 5) { login } }');
    expect(wrongType.errors?.[0]?.message).toMatch(/String/);
  });

  it('requires first or last on connections, as GitHub does', async () => {
    const answer = await graphql('{ organization(login: "acme") { membersWithRole { totalCount } } }');
    expect(answer.status).toBe(200);
    expect(answer.data).toBeUndefined();
    expect(answer.errors?.[0]).toMatchObject({
      type: 'MISSING_PAGINATION_BOUNDARIES',
      message:
        'You must provide a `first` or `last` value to properly paginate the `membersWithRole` connection.',
    });
  });

  it('caps first at 100', async () => {
    const answer = await graphql('{ organization(login: "acme") { teams(first: 101) { totalCount } } }');
    expect(answer.data).toBeUndefined();
    expect(answer.errors?.[0]).toMatchObject({
      type: 'EXCESSIVE_PAGINATION',
      message: 'Requesting 101 records on the `teams` connection exceeds the `first` limit of 100 records.',
    });
    const ok = await graphql('{ organization(login: "acme") { teams(first: 100) { totalCount } } }');
    expect(ok.errors).toBeUndefined();
    expect(ok.data).toEqual({ organization: { teams: { totalCount: 3 } } });
  });

  it('answers NOT_FOUND for an unknown organisation or repository, with data null', async () => {
    const org = await graphql('{ organization(login: "nope") { login } }');
    expect(org.data).toEqual({ organization: null });
    expect(org.errors?.[0]).toMatchObject({
      type: 'NOT_FOUND',
      path: ['organization'],
      message: "Could not resolve to an Organization with the login of 'nope'.",
    });
    const repository = await graphql('{ repository(owner: "acme", name: "nope") { name } }');
    expect(repository.errors?.[0]).toMatchObject({ type: 'NOT_FOUND' });
  });

  it('refuses arguments the sandbox does not implement instead of ignoring them', async () => {
    const answer = await graphql(
      '{ organization(login: "acme") { teams(first: 10, query: "plat") { totalCount } } }',
    );
    expect(answer.errors?.[0]?.message).toMatch(/does not implement argument `query`/);
  });

  it('lists permission sources with the union resolved to its concrete type', async () => {
    const answer = await graphql(`{
      repository(owner: "acme", name: "api") {
        collaborators(first: 10, login: "carol") {
          totalCount
          edges {
            permission
            node { login }
            permissionSources {
              permission
              roleName
              source { __typename ... on Team { slug } ... on Repository { nameWithOwner } ... on Organization { login } }
            }
          }
        }
      }
    }`);
    expect(answer.errors).toBeUndefined();
    const collaborators = (
      (answer.data?.repository ?? {}) as { collaborators: { totalCount: number; edges: unknown[] } }
    ).collaborators;
    expect(collaborators.totalCount).toBe(1);
    expect(collaborators.edges).toEqual([
      {
        permission: 'WRITE',
        node: { login: 'carol' },
        permissionSources: expect.arrayContaining([
          { permission: 'READ', roleName: 'read', source: { __typename: 'Organization', login: 'acme' } },
          {
            permission: 'WRITE',
            roleName: 'write',
            source: { __typename: 'Repository', nameWithOwner: 'acme/api' },
          },
          { permission: 'WRITE', roleName: 'write', source: { __typename: 'Team', slug: 'platform' } },
        ]),
      },
    ]);
  });

  it('filters collaborators by affiliation: OUTSIDE lists only outside collaborators', async () => {
    const answer = await graphql(`{ repository(owner: "acme", name: "api") {
      outside: collaborators(first: 10, affiliation: OUTSIDE) { nodes { login } }
      direct: collaborators(first: 10, affiliation: DIRECT) { nodes { login } }
      all: collaborators(first: 10) { totalCount }
    } }`);
    expect(answer.data?.repository).toEqual({
      outside: { nodes: [{ login: 'gina' }, { login: 'ivan' }] },
      direct: { nodes: [{ login: 'carol' }, { login: 'gina' }, { login: 'ivan' }] },
      // Seven members (base read), gina and ivan.
      all: { totalCount: 9 },
    });
  });
});

describe('GitHub sandbox GraphQL: cursor paging', () => {
  const organization: OrganizationInput = {
    login: 'pages',
    basePermission: 'read',
    members: Array.from({ length: 7 }, (_, index) => ({ login: `m${index}`, role: 'member' as const })),
    teams: [],
    repositories: [],
  };
  beforeEach(async () => {
    sandbox = await startSandbox(organization);
  });

  const page = `query($after: String, $before: String, $first: Int, $last: Int) {
    organization(login: "pages") {
      membersWithRole(first: $first, last: $last, after: $after, before: $before) {
        totalCount
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        nodes { login }
      }
    }
  }`;
  type Members = {
    totalCount: number;
    pageInfo: {
      hasNextPage: boolean;
      hasPreviousPage: boolean;
      startCursor: string;
      endCursor: string | null;
    };
    nodes: Array<{ login: string }>;
  };
  const members = (answer: GraphQLAnswer) =>
    ((answer.data?.organization ?? {}) as { membersWithRole: Members }).membersWithRole;

  it('walks forward with first/after until hasNextPage is false', async () => {
    const seen: string[] = [];
    let after: string | null = null;
    for (let pages = 0; pages < 10; pages++) {
      const current = members(await graphql(page, { first: 3, after }));
      expect(current.totalCount).toBe(7);
      seen.push(...current.nodes.map((node) => node.login));
      if (!current.pageInfo.hasNextPage) break;
      after = current.pageInfo.endCursor;
    }
    expect(seen).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6']);
  });

  it('pages backward with last/before', async () => {
    const tail = members(await graphql(page, { last: 2 }));
    expect(tail.nodes.map((node) => node.login)).toEqual(['m5', 'm6']);
    expect(tail.pageInfo.hasPreviousPage).toBe(true);
    const before = members(await graphql(page, { last: 2, before: tail.pageInfo.startCursor }));
    expect(before.nodes.map((node) => node.login)).toEqual(['m3', 'm4']);
  });

  it('keeps its place when an earlier item disappears between pages', async () => {
    const first = members(await graphql(page, { first: 3 }));
    sandbox.state.members.delete('m0');
    const next = members(await graphql(page, { first: 3, after: first.pageInfo.endCursor }));
    expect(next.nodes.map((node) => node.login)).toEqual(['m3', 'm4', 'm5']);
  });

  it('rejects a cursor it did not issue', async () => {
    const answer = await graphql(page, { first: 3, after: 'bm90IGEgY3Vyc29y' });
    expect(answer.errors?.[0]?.message).toMatch(/does not appear to be a valid cursor/);
  });
});
