import { type GitHubAccessKind, notBuiltYet } from './access-kind';

// Placeholder: replaced by the work on this resource kind.
export const rulesets: GitHubAccessKind = {
  grantKinds: ['ruleset_bypass'],
  // biome-ignore lint/correctness/useYield: placeholder
  async *snapshot() {},
  revoke: () => notBuiltYet('rulesets'),
  check: () => notBuiltYet('rulesets'),
};
