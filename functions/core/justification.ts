import type { AccessReviewConfig, JustifiedGrantClass } from './config';
import { AccessReviewError } from './errors';
import { comparablePermission, type Grant } from './grant';

/**
 * Which grants need a written reason before they can be kept (config
 * `review.justificationRequiredFor`): a Keep on one of them opens a modal asking why, and the reason
 * is stored with the decision, in the chain and in decisions.csv. Revoking never needs a reason:
 * the question is whether privileged access may stay, not whether it may go.
 */

/** Shortest reason accepted: "needed" says nothing an auditor can check. */
export const JUSTIFICATION_MIN_LENGTH = 10;
/** Longest reason accepted: it is stored in the decision, its event and a CSV cell. */
export const JUSTIFICATION_MAX_LENGTH = 1000;

/** The words a reviewer reads for each class, after "Keeping this needs a reason: …". */
export const JUSTIFIED_CLASS_DESCRIPTIONS: Record<JustifiedGrantClass, string> = {
  admin: 'admin access',
  owner: 'organisation owner',
  outside_collaborator: 'outside collaborator',
  deploy_key_write: 'deploy key that can write',
  separation_of_duties: 'separation-of-duties flag',
};

/** The grant fields the classes are read from. */
export type JustifiableGrant = Pick<Grant, 'grantKind' | 'entitlement' | 'flags' | 'raw'>;

/** Grant kinds whose entitlement is a repository permission (or a custom role with a base one). */
const REPOSITORY_PERMISSION_KINDS = new Set<Grant['grantKind']>([
  'user_repository',
  'team_repository',
  'repository_invitation',
  'organization_base_permission',
]);

/**
 * Every class the grant falls in, whatever the configuration says, in JUSTIFIED_GRANT_CLASSES'
 * order. A grant in a class the connector did not flag (an outside collaborator only in `raw`)
 * still falls in it: the message shows the same fact (blocks.ts reads raw too).
 */
export function justifiedClassesOf(grant: JustifiableGrant): JustifiedGrantClass[] {
  const classes: JustifiedGrantClass[] = [];
  // A custom role based on admin is admin access under another name.
  if (REPOSITORY_PERMISSION_KINDS.has(grant.grantKind) && comparablePermission(grant) === 'admin') {
    classes.push('admin');
  }
  if (
    (grant.grantKind === 'organization_membership' || grant.grantKind === 'organization_invitation') &&
    grant.entitlement === 'owner'
  ) {
    classes.push('owner');
  }
  if (grant.flags.includes('outside_collaborator') || grant.raw.outsideCollaborator === true) {
    classes.push('outside_collaborator');
  }
  if (grant.grantKind === 'deploy_key' && grant.entitlement === 'write') classes.push('deploy_key_write');
  if (grant.flags.includes('separation_of_duties')) classes.push('separation_of_duties');
  return classes;
}

/** The configured classes this grant falls in: empty when a Keep needs no reason. */
export function justificationReasons(
  grant: JustifiableGrant,
  required: readonly JustifiedGrantClass[],
): JustifiedGrantClass[] {
  return justifiedClassesOf(grant).filter((kind) => required.includes(kind));
}

/** True when keeping this grant needs a written reason under this configuration. */
export function needsJustification(
  grant: JustifiableGrant,
  config: Pick<AccessReviewConfig, 'review'>,
): boolean {
  return justificationReasons(grant, config.review.justificationRequiredFor).length > 0;
}

/** "admin access, outside collaborator": why a reason is asked, in the reviewer's words. */
export function describeJustificationReasons(classes: readonly JustifiedGrantClass[]): string {
  return classes.map((kind) => JUSTIFIED_CLASS_DESCRIPTIONS[kind]).join(', ');
}

/** A reason that cannot be stored: too short, too long, or not text a person typed. */
export class JustificationTextError extends AccessReviewError {}

/**
 * The reason as stored: trimmed, line ends as `\n`, no control characters other than newline and
 * tab (they would corrupt a CSV cell or a terminal), between the minimum and maximum length.
 * Throws JustificationTextError saying which rule the text breaks, in words for the modal.
 */
export function normalizeJustification(text: unknown): string {
  if (typeof text !== 'string') throw new JustificationTextError('The reason is missing.');
  const normalized = text.replace(/\r\n?/g, '\n').trim();
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/.test(normalized)) {
    throw new JustificationTextError('The reason contains control characters; please type plain text.');
  }
  const length = [...normalized].length;
  if (length < JUSTIFICATION_MIN_LENGTH) {
    throw new JustificationTextError(
      `Please give a reason of at least ${JUSTIFICATION_MIN_LENGTH} characters (it is kept in the audit evidence).`,
    );
  }
  if (length > JUSTIFICATION_MAX_LENGTH) {
    throw new JustificationTextError(
      `Please keep the reason under ${JUSTIFICATION_MAX_LENGTH} characters (it has ${length}).`,
    );
  }
  return normalized;
}
