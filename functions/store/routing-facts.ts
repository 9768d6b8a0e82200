import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { Grant, GrantKind } from '../core/grant';
import { queryAll, withoutKeys } from './query';
import { keys, type TableRef } from './table';

/**
 * Grants a scoped snapshot read but left out of its scope, kept because routing needs them to know
 * who holds what: team members and maintainers (a team's access is held by its members), org owners
 * and members, the base permission, who can push where (a role bypass actor, an OIDC trust), and which
 * subjects an IAM role trusts. Without them, a repository-scoped campaign would not know that bob is
 * in platform and could ask him to review platform's access to the repository.
 *
 * They are NOT part of the campaign's snapshot: they live under their own sort key prefix
 * (`ROUTING#<grantId>`), carry no history or reviewer index keys, and nothing that reads grants
 * (`GRANT#`: counts, digest, evidence, history, delta) sees them. Only AssignReviewers reads them.
 */
export const ROUTING_FACT_KINDS: ReadonlySet<GrantKind> = new Set([
  'organization_membership',
  'organization_base_permission',
  'team_membership',
  'user_repository',
  'oidc_role_trust',
]);

/** Whether routing reads this kind of grant to know who holds what (functions/core/routing.ts). */
export function isRoutingFact(grant: Pick<Grant, 'grantKind'>): boolean {
  return ROUTING_FACT_KINDS.has(grant.grantKind);
}

const PREFIX = 'ROUTING#';
const BATCH_SIZE = 25;

/** What routing reads of a grant; the source's record is cut to the two fields it uses. */
function factOf(grant: Grant): Grant {
  const raw: Record<string, unknown> = {};
  if (typeof grant.raw.parentTeam === 'string') raw.parentTeam = grant.raw.parentTeam;
  if (typeof grant.raw.baseRole === 'string') raw.baseRole = grant.raw.baseRole;
  return { ...grant, raw, derivedFrom: [] };
}

export class RoutingFactRepository {
  constructor(private readonly table: TableRef) {}

  /** Idempotent (keyed by grant id): a retried or resumed snapshot writes the same items again. */
  async putMany(campaignId: string, grants: readonly Grant[]): Promise<void> {
    for (let start = 0; start < grants.length; start += BATCH_SIZE) {
      let requests = grants.slice(start, start + BATCH_SIZE).map((grant) => ({
        PutRequest: {
          Item: {
            pk: keys.campaign(campaignId),
            sk: `${PREFIX}${grant.grantId}`,
            kind: 'routing_fact',
            ...factOf(grant),
          },
        },
      }));
      for (let attempt = 0; requests.length > 0; attempt++) {
        const result = await this.table.client.send(
          new BatchWriteCommand({ RequestItems: { [this.table.tableName]: requests } }),
        );
        requests = (result.UnprocessedItems?.[this.table.tableName] ?? []) as typeof requests;
        if (requests.length > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 50 * 2 ** attempt)));
      }
    }
  }

  async list(campaignId: string): Promise<Grant[]> {
    const items = await queryAll(this.table, keys.campaign(campaignId), PREFIX);
    return items.map((item) => {
      const { kind: _kind, ...rest } = withoutKeys(item);
      return rest as unknown as Grant;
    });
  }
}
