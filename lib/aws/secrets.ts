import { CfnOutput, Validations } from 'aws-cdk-lib';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { SecretName } from './handlers';

export interface VendorCredentialsProps {
  encryptionKey: IKey;
}

/**
 * GitHub and Slack credentials. The stack creates them with generated placeholder values (so no
 * token ever passes through CDK, the template or a Lambda environment); the operator writes the
 * real JSON after deploy, and the functions read it at run time.
 */
export class VendorCredentials extends Construct {
  readonly github: Secret;
  readonly slack: Secret;

  constructor(scope: Construct, id: string, props: VendorCredentialsProps) {
    super(scope, id);
    this.github = new Secret(this, 'GitHubCredentials', {
      description:
        'access-review: GitHub App installation {"appId","installationId","privateKey"} (or {"token"}); replace the placeholder after deploy',
      encryptionKey: props.encryptionKey,
      generateSecretString: {
        secretStringTemplate: JSON.stringify({}),
        generateStringKey: 'token',
        excludePunctuation: true,
      },
    });
    this.slack = new Secret(this, 'SlackCredentials', {
      description:
        'access-review: Slack app credentials as JSON {"botToken": "xoxb-...", "signingSecret": "..."}; replace after deploy',
      encryptionKey: props.encryptionKey,
      generateSecretString: {
        // A placeholder bot token that Slack will reject, and a random signing secret that no
        // Slack request can match: nothing works until the operator writes the real values.
        secretStringTemplate: JSON.stringify({ botToken: 'xoxb-replace-after-deploy' }),
        generateStringKey: 'signingSecret',
        excludePunctuation: true,
      },
    });

    for (const secret of [this.github, this.slack]) {
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'A GitHub token and a Slack bot token/signing secret are issued and rotated in GitHub and Slack, not by a rotation Lambda; the operator writes the new value here when the vendor rotates it.',
      });
    }

    new CfnOutput(this, 'GitHubSecretArn', {
      key: 'GitHubSecretArn',
      description:
        'Write {"appId": ..., "installationId": ..., "privateKey": "..."} (or {"token": "..."}) here after deploy',
      value: this.github.secretArn,
    });
    new CfnOutput(this, 'SlackSecretArn', {
      key: 'SlackSecretArn',
      description: 'Write {"botToken": "xoxb-...", "signingSecret": "..."} here after deploy',
      value: this.slack.secretArn,
    });
  }

  secret(name: SecretName): Secret {
    return name === 'github' ? this.github : this.slack;
  }
}
