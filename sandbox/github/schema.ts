import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { GraphQLSchema, IntrospectionQuery } from 'graphql';
import { graphql } from './graphql-js';

/**
 * Finds a file inside an installed package by walking Node's own lookup path. Needed because
 * some packages (e.g. @octokit/graphql-schema) list only their JS entry in `exports`, which makes
 * `require.resolve('<pkg>/schema.json')` fail even though the file is on disk.
 */
export function packageFile(packageName: string, file: string): string {
  const lookup = createRequire(import.meta.url).resolve.paths(packageName) ?? [];
  for (const directory of lookup) {
    const candidate = join(directory, packageName, file);
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`cannot find ${file} of ${packageName} (is it installed?)`);
}

let cached: GraphQLSchema | undefined;

/**
 * GitHub's public GraphQL schema from its introspection dump. Built from the introspection JSON,
 * not schema.graphql: the SDL of v15.26 defines two fields twice and does not build. Building takes
 * ~160 ms and a lot of memory, so it happens once per process.
 */
export function gitHubSchema(): GraphQLSchema {
  if (!cached) {
    const text = readFileSync(packageFile('@octokit/graphql-schema', 'schema.json'), 'utf8');
    // The file's top level is the introspection result itself (`{ __schema }`), not `{ data }`.
    const introspection = JSON.parse(text) as IntrospectionQuery;
    cached = graphql.buildClientSchema(introspection);
  }
  return cached;
}
