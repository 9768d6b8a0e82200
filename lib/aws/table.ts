import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

export interface EvidenceTableProps {
  encryptionKey: IKey;
}

/**
 * The single table (campaigns, grants, review tasks, hash-chained events). It is the evidence an
 * auditor relies on, so it outlives the stack, cannot be deleted by accident, can be restored to
 * any second of the last 35 days and has no TTL.
 */
export class EvidenceTable extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string, props: EvidenceTableProps) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
      encryption: TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: props.encryptionKey,
    });
    // gsi1: a reviewer's grants in a campaign. gsi2: campaigns by start time, and (overloaded) a
    // principal's grants across campaigns. gsi3: a resource's grants across campaigns. A deployed
    // table gains one index per CloudFormation update (DynamoDB builds one at a time), so a release
    // may add at most one: gsi3 is this release's, and the principal history reuses gsi2.
    for (const index of ['gsi1', 'gsi2', 'gsi3']) {
      this.table.addGlobalSecondaryIndex({
        indexName: index,
        partitionKey: { name: `${index}pk`, type: AttributeType.STRING },
        sortKey: { name: `${index}sk`, type: AttributeType.STRING },
        projectionType: ProjectionType.ALL,
      });
    }
  }
}
