import { AssumeRoleCommand, type AssumeRoleCommandOutput, type STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { awsFailure } from './errors';

/** What a connector may be given to start from: fixed credentials or a provider (the Lambda's own role). */
export type BaseCredentials = AwsCredentialIdentity | AwsCredentialIdentityProvider;

/** Sessions last an hour; one is renewed this long before it expires, so no call runs on a dying session. */
const REFRESH_BEFORE_MS = 5 * 60_000;
const SESSION_SECONDS = 3600;

interface Session {
  credentials: AwsCredentialIdentity;
  expiresAt: number;
}

/**
 * One STS session per member-account role (read or revoke), assumed on first use and renewed
 * before it expires. Concurrent callers share one AssumeRole call. The session name says who is
 * acting, so CloudTrail in the member account shows `access-review` against every call.
 */
export class RoleSessions {
  private readonly sessions = new Map<string, Session>();
  private readonly pending = new Map<string, Promise<Session>>();

  constructor(
    private readonly sts: STSClient,
    private readonly now: () => Date,
    private readonly sessionName = 'access-review',
  ) {}

  /** A credentials provider for the SDK clients that act as `roleArn`. */
  provider(roleArn: string, externalId: string | undefined): AwsCredentialIdentityProvider {
    return async () => (await this.session(roleArn, externalId)).credentials;
  }

  private async session(roleArn: string, externalId: string | undefined): Promise<Session> {
    const current = this.sessions.get(roleArn);
    if (current && current.expiresAt - this.now().getTime() > REFRESH_BEFORE_MS) return current;
    let pending = this.pending.get(roleArn);
    if (!pending) {
      pending = this.assume(roleArn, externalId).finally(() => this.pending.delete(roleArn));
      this.pending.set(roleArn, pending);
    }
    return pending;
  }

  private async assume(roleArn: string, externalId: string | undefined): Promise<Session> {
    let answer: AssumeRoleCommandOutput;
    try {
      answer = await this.sts.send(
        new AssumeRoleCommand({
          RoleArn: roleArn,
          RoleSessionName: this.sessionName,
          DurationSeconds: SESSION_SECONDS,
          ...(externalId ? { ExternalId: externalId } : {}),
        }),
      );
    } catch (error) {
      // The caller is the connector's own identity (the Lambda's role), not the member role.
      throw awsFailure(error, 'sts:AssumeRole', undefined, roleArn);
    }
    const credentials = answer.Credentials;
    const accessKeyId = credentials?.AccessKeyId;
    const secretAccessKey = credentials?.SecretAccessKey;
    if (typeof accessKeyId !== 'string' || typeof secretAccessKey !== 'string') {
      throw awsFailure(new Error('AssumeRole returned no credentials'), 'sts:AssumeRole', undefined, roleArn);
    }
    const expiration = credentials?.Expiration;
    const expiresAt =
      expiration instanceof Date ? expiration.getTime() : this.now().getTime() + SESSION_SECONDS * 1000;
    const session: Session = {
      credentials: {
        accessKeyId,
        secretAccessKey,
        ...(credentials?.SessionToken ? { sessionToken: credentials.SessionToken } : {}),
        expiration: new Date(expiresAt),
      },
      expiresAt,
    };
    this.sessions.set(roleArn, session);
    return session;
  }
}
