import { describe, expect, it } from 'vitest';
import { ALL_QUERIES } from '../../../../functions/connectors/github/queries';
import { graphql } from '../../../../sandbox/github/graphql-js';
import { gitHubSchema } from '../../../../sandbox/github/schema';

/*
 * The connector's GraphQL documents against GitHub's published schema (@octokit/graphql-schema).
 * The sandbox's own graphql instance is used so the schema and validate() come from one build.
 */
describe('GitHub GraphQL queries', () => {
  const schema = gitHubSchema();

  it.each(Object.entries(ALL_QUERIES))('%s is valid against GitHub schema', (_name, query) => {
    const errors = graphql.validate(schema, graphql.parse(query)).map((error) => error.message);
    expect(errors).toEqual([]);
  });

  it('each document holds exactly one named operation', () => {
    for (const [name, query] of Object.entries(ALL_QUERIES)) {
      const operations = graphql
        .parse(query)
        .definitions.filter((definition) => definition.kind === graphql.Kind.OPERATION_DEFINITION);
      expect(operations, name).toHaveLength(1);
      expect(
        operations[0] && 'name' in operations[0] ? operations[0].name?.value : undefined,
        name,
      ).toBeTruthy();
    }
  });

  it('never asks for more than GitHub allows per page', () => {
    for (const [name, query] of Object.entries(ALL_QUERIES)) {
      // Only the repository page takes its size as a variable (tests page smaller); the connector caps it at 100.
      if (name !== 'ORGANIZATION_REPOSITORIES') expect(query, name).not.toMatch(/\bfirst:\s*\$/);
      for (const match of query.matchAll(/\bfirst:\s*(\d+)/g)) {
        // GitHub's own limit for `first` on a connection.
        expect(Number(match[1]), name).toBeLessThanOrEqual(100);
      }
    }
  });

  it('the check would catch a field GitHub does not have', () => {
    const typo = ALL_QUERIES.USER_REPOSITORY_ACCESS.replace('roleName', 'role');
    const errors = graphql.validate(schema, graphql.parse(typo)).map((error) => error.message);
    expect(errors.join('\n')).toMatch(/Cannot query field "role" on type "PermissionSource"/);
  });
});
