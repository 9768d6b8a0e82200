import type { DocumentNode, FragmentDefinitionNode, SelectionSetNode, ValueNode } from 'graphql';
import { graphql } from './graphql-js';

/**
 * The rate-limit points GitHub charges for one GraphQL call, by the formula GitHub documents
 * ("Rate limits and node limits for the GraphQL API", calculating points for the primary rate
 * limit): add up the requests needed to fulfil each connection in the call, assuming every
 * connection returns as many nodes as its `first` / `last` asks for (a connection nested in
 * another needs one request per node of its parent), divide by 100 and round to the nearest
 * whole number; a call costs at least 1 point. GitHub's own example: repositories(first: 100)
 * with issues(first: 50) and labels(first: 60) inside is 1 + 100 + 5,000 = 5,101 requests, 51
 * points.
 *
 * A connection is any field that takes a `first` or `last` argument given in the call. Aliased
 * fields are separate connections (each alias is a request of its own), as are the branches of
 * fragments and inline fragments.
 */
export function graphQLPoints(
  document: DocumentNode,
  variables: Record<string, unknown> = {},
  operationName?: string,
): number {
  return Math.max(1, Math.round(graphQLRequests(document, variables, operationName) / 100));
}

/** The requests GitHub's formula counts for the call, before dividing by 100. */
export function graphQLRequests(
  document: DocumentNode,
  variables: Record<string, unknown> = {},
  operationName?: string,
): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === graphql.Kind.FRAGMENT_DEFINITION)
      fragments.set(definition.name.value, definition);
  }
  const operations = document.definitions.filter(
    (definition) => definition.kind === graphql.Kind.OPERATION_DEFINITION,
  );
  const operation =
    operations.find((candidate) => candidate.name?.value === operationName) ??
    (operations.length === 1 ? operations[0] : undefined);
  if (!operation) return 0;

  const argumentValue = (node: ValueNode): unknown => {
    if (node.kind === graphql.Kind.VARIABLE) return variables[node.name.value];
    if (node.kind === graphql.Kind.INT) return Number(node.value);
    return undefined;
  };

  /** Requests of every connection in `selections`, each reached `parents` times. */
  const walk = (selections: SelectionSetNode | undefined, parents: number, visiting: Set<string>): number => {
    if (!selections) return 0;
    let requests = 0;
    for (const selection of selections.selections) {
      if (selection.kind === graphql.Kind.FRAGMENT_SPREAD) {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        // A fragment that spreads itself is invalid GraphQL; the guard only keeps this from looping.
        if (!fragment || visiting.has(name)) continue;
        requests += walk(fragment.selectionSet, parents, new Set([...visiting, name]));
        continue;
      }
      if (selection.kind === graphql.Kind.INLINE_FRAGMENT) {
        requests += walk(selection.selectionSet, parents, visiting);
        continue;
      }
      let pageSize: number | undefined;
      for (const argument of selection.arguments ?? []) {
        if (argument.name.value !== 'first' && argument.name.value !== 'last') continue;
        const value = argumentValue(argument.value);
        if (typeof value === 'number' && Number.isFinite(value)) pageSize = Math.max(pageSize ?? 0, value);
      }
      if (pageSize === undefined) {
        requests += walk(selection.selectionSet, parents, visiting);
      } else {
        // This connection takes one request per parent node; its own nodes are the parents below.
        requests += parents + walk(selection.selectionSet, parents * pageSize, visiting);
      }
    }
    return requests;
  };
  return walk(operation.selectionSet, 1, new Set());
}
