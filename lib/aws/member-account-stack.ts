import { LegacyStackSynthesizer, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { AccessReviewConfig } from '../../functions/core/config';
import { ConfigError } from '../../functions/core/errors';
import {
  AccessReviewMemberAccountRoles,
  type AccessReviewMemberAccountRolesProps,
  type RoleNaming,
} from './member-account-roles';

/** The member stack's construct id, and so its CloudFormation stack name in each member account. */
export const MEMBER_STACK_ID = 'AccessReviewMemberRoles';

export interface AccessReviewMemberAccountStackProps extends StackProps {
  roles: AccessReviewMemberAccountRolesProps;
}

/**
 * What one member account deploys: the access-review read role and, if configured, the revoke role.
 * It has no assets and a small template, so it uses the legacy synthesizer: `cdk deploy` with the
 * member account's credentials needs no `cdk bootstrap` there, and the synthesized template is
 * plain CloudFormation (StackSets can roll it out too).
 */
export class AccessReviewMemberAccountStack extends Stack {
  readonly roles: AccessReviewMemberAccountRoles;

  constructor(scope: Construct, id: string, props: AccessReviewMemberAccountStackProps) {
    super(scope, id, {
      description: 'access-review: roles the access-review hub assumes to review this account',
      synthesizer: new LegacyStackSynthesizer(),
      ...props,
    });
    this.roles = new AccessReviewMemberAccountRoles(this, 'AccessReview', props.roles);
  }
}

/**
 * The member roles of one configured account, named as the configuration's ARNs name them (so the
 * hub assumes exactly what was deployed), with its ExternalId, a revoke role only if it has a
 * revokeRoleArn, and the configured automatic-remediation paths.
 */
export function memberRolesFromConfig(
  config: AccessReviewConfig,
  accountId: string,
  hubAccountId: string,
): AccessReviewMemberAccountRolesProps {
  const account = config.aws?.accounts.find((candidate) => candidate.accountId === accountId);
  if (!account) {
    const listed = config.aws?.accounts.map((candidate) => candidate.accountId) ?? [];
    throw new ConfigError(`account ${accountId} is not configured for review`, [
      `aws.accounts: lists ${listed.length > 0 ? listed.join(', ') : 'no account'}`,
    ]);
  }
  return {
    hubAccountId,
    ...(account.externalId ? { externalId: account.externalId } : {}),
    readRole: roleNaming(account.readRoleArn),
    revoke: account.revokeRoleArn !== undefined,
    ...(account.revokeRoleArn ? { revokeRole: roleNaming(account.revokeRoleArn) } : {}),
    identityPolicyPaths: config.aws?.automaticRemediation.identityPolicyPaths ?? [],
  };
}

/** `arn:aws:iam::111122223333:role/ops/access-review-read` → name access-review-read, path /ops/. */
function roleNaming(arn: string): Required<RoleNaming> {
  const resource = arn.split(':').slice(5).join(':');
  const match = /^role(\/(?:[^/]+\/)*)([^/]+)$/.exec(resource);
  if (!match)
    throw new ConfigError(`"${arn}" is not an IAM role ARN`, [`${arn}: expected role/<path>/<name>`]);
  return { path: match[1]!, name: match[2]! };
}
