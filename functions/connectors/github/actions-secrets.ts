import { type GitHubAccessKind, notBuiltYet } from './access-kind';

// Placeholder: replaced by the work on this resource kind.
export const actionsSecrets: GitHubAccessKind = {
  grantKinds: ['actions_secret_access', 'actions_variable_access', 'environment_secret'],
  // biome-ignore lint/correctness/useYield: placeholder
  async *snapshot() {},
  revoke: () => notBuiltYet('actions-secrets'),
  check: () => notBuiltYet('actions-secrets'),
};
