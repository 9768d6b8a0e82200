import { CfnResource, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * The CloudFormation logical id of an L2 construct's main resource. cdk-nag names IAM5 findings
 * after it (`Resource::<Table1234.Arn>/index/*`), so acknowledging one exact finding needs it.
 */
export function logicalIdOf(construct: IConstruct): string {
  const resource = construct.node.defaultChild;
  if (!resource || !CfnResource.isCfnResource(resource)) {
    throw new Error(`${construct.node.path} has no CloudFormation resource as its default child`);
  }
  const resolved: unknown = Stack.of(resource).resolve(resource.logicalId);
  if (typeof resolved !== 'string') throw new Error(`${construct.node.path} has no literal logical id`);
  return resolved;
}

/** The policy CDK creates for a role's statements (`<role>/DefaultPolicy`). */
export function defaultPolicyOf(role: IConstruct): IConstruct {
  const policy = role.node.tryFindChild('DefaultPolicy');
  if (!policy) throw new Error(`${role.node.path} has no DefaultPolicy yet; add its statements first`);
  return policy;
}
