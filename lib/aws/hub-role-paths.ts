/**
 * How the hub's functions and the member accounts' roles recognise each other.
 *
 * The hub's function roles are created by CloudFormation with generated names (a fixed name would
 * stop a second deployment of the stack in the same account), and a replaced role gets a new name.
 * A member role therefore cannot name them. Instead, the hub puts the roles that may reach member
 * accounts under a fixed IAM path, one per kind of access, and a member role trusts the hub account
 * on the condition that the caller's role (aws:PrincipalArn, which carries the path) lies under the
 * path of its kind. Replacing or renaming a hub role keeps the trust; a role outside the path,
 * or in another account, never matches.
 */

/** Which member-account role a handler assumes: read (snapshot, verify), revoke (apply), or none. */
export type AwsRoleUse = 'read' | 'revoke' | 'none';
export type MemberRoleKind = Exclude<AwsRoleUse, 'none'>;

/** IAM path of the hub function roles allowed to assume each kind of member role. */
export const HUB_ROLE_PATHS: Readonly<Record<MemberRoleKind, string>> = {
  read: '/access-review/read/',
  revoke: '/access-review/revoke/',
};

/** The aws:PrincipalArn pattern a member role of this kind admits: the hub's roles under its path. */
export function hubRoleArnPattern(partition: string, hubAccountId: string, kind: MemberRoleKind): string {
  return `arn:${partition}:iam::${hubAccountId}:role${HUB_ROLE_PATHS[kind]}*`;
}
