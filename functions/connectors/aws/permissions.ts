/**
 * The AWS actions the connector calls, in one place: the member-account roles the CDK construct
 * deploys (lib/aws/member-account-roles.ts), the README and the local AWS sandbox's scenario roles
 * are all checked against these lists, so the documented permissions are the ones the code needs.
 */

/** Read-only: snapshot and verify. Nothing here can read a secret's value. */
export const READ_ACTIONS = [
  'iam:GetAccountAuthorizationDetails',
  'iam:GetRole',
  'iam:GetPolicy',
  'iam:GetPolicyVersion',
  'iam:GetRolePolicy',
  'iam:GetUserPolicy',
  'iam:GetGroupPolicy',
  'iam:ListOpenIDConnectProviders',
  'secretsmanager:ListSecrets',
  'secretsmanager:DescribeSecret',
  'secretsmanager:GetResourcePolicy',
  'kms:DescribeKey',
  'kms:GetKeyPolicy',
] as const;

/**
 * Revoke: change a secret's resource policy, narrow a role's trust policy, and (only for the paths
 * configured for automatic remediation) write a new version of an identity policy. The revoke role
 * also holds READ_ACTIONS, so it reads the document it is about to change in the same session.
 */
export const REVOKE_ACTIONS = [
  'secretsmanager:PutResourcePolicy',
  'secretsmanager:DeleteResourcePolicy',
  'iam:UpdateAssumeRolePolicy',
] as const;

/** Only for automatic remediation of identity policies, scoped to the configured IAM paths. */
export const IDENTITY_POLICY_REMEDIATION_ACTIONS = [
  'iam:CreatePolicyVersion',
  'iam:DeletePolicyVersion',
  'iam:ListPolicyVersions',
  'iam:PutRolePolicy',
  'iam:PutUserPolicy',
  'iam:PutGroupPolicy',
] as const;
