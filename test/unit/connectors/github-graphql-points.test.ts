import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ALL_QUERIES } from '../../../functions/connectors/github/queries';
import { graphQLPoints, graphQLRequests } from '../../../sandbox/github/graphql-cost';
import { graphql } from '../../../sandbox/github/graphql-js';

const parse = (text: string) => graphql.parse(text);

describe("GitHub's GraphQL points formula, as the sandbox charges it", () => {
  it("gives GitHub's documented example 5,101 requests and 51 points", () => {
    // From "Rate limits and node limits for the GraphQL API": repositories, their issues, the issues' labels.
    const document = parse(`query {
      viewer {
        login
        repositories(first: 100) {
          edges { node { id issues(first: 50) { edges { node { id labels(first: 60) { edges { node { id name } } } } } } } }
        }
      }
    }`);
    expect(graphQLRequests(document)).toBe(5101);
    expect(graphQLPoints(document)).toBe(51);
  });

  it('charges at least one point, and counts fragments, aliases and variables', () => {
    expect(graphQLPoints(parse('query { viewer { login } }'))).toBe(1);
    const document = parse(`query Q($n: Int!) {
      a: organization(login: "x") { teams(first: $n) { nodes { ...T } } }
      b: organization(login: "x") { teams(first: 1) { totalCount } }
    }
    fragment T on Team { members(first: 100) { totalCount } repositories(first: 100) { totalCount } }`);
    // a: 1 + 2 × n; b: 1.
    expect(graphQLRequests(document, { n: 50 })).toBe(1 + 100 + 1);
    expect(graphQLRequests(document, { n: 100 })).toBe(1 + 200 + 1);
  });

  it("prices the connector's queries: a page of 100 repositories 5 points, members and teams 1", () => {
    expect(graphQLPoints(parse(ALL_QUERIES.ORGANIZATION_REPOSITORIES), { first: 100 })).toBe(5);
    expect(graphQLPoints(parse(ALL_QUERIES.ORGANIZATION_MEMBERS))).toBe(1);
    expect(graphQLPoints(parse(ALL_QUERIES.ORGANIZATION_TEAMS))).toBe(1);
    expect(graphQLPoints(parse(ALL_QUERIES.REPOSITORY_COLLABORATORS))).toBe(1);
  });

  it('grows with every nested page size, never below one point', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1, max: 100 }), (outer, inner) => {
        const document = parse(
          `query { viewer { repositories(first: ${outer}) { nodes { issues(first: ${inner}) { totalCount } } } } }`,
        );
        expect(graphQLRequests(document)).toBe(1 + outer);
        expect(graphQLPoints(document)).toBe(Math.max(1, Math.round((1 + outer) / 100)));
      }),
    );
  });
});
