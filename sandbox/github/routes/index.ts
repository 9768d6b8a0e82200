import type { Route } from '../rest-kit';
import { actionsRoutes } from './actions';
import { appRoutes } from './apps';
import { branchProtectionRoutes } from './branch-protection';
import { collaboratorRoutes } from './collaborators';
import { deployKeyRoutes } from './deploy-keys';
import { environmentRoutes } from './environments';
import { peopleRoutes } from './people';
import { personalAccessTokenRoutes } from './personal-access-tokens';
import { rulesetRoutes } from './rulesets';
import { runnerGroupRoutes } from './runner-groups';

/** The REST routes of GitHub's CI/CD surface and people beyond memberships, one file per resource kind. */
export const routes: Route[] = [
  ...peopleRoutes,
  ...collaboratorRoutes,
  ...deployKeyRoutes,
  ...environmentRoutes,
  ...branchProtectionRoutes,
  ...rulesetRoutes,
  ...actionsRoutes,
  ...runnerGroupRoutes,
  ...appRoutes,
  ...personalAccessTokenRoutes,
];
