import type { Connector } from '../connectors/connector';
import { gitHubCredentialsFrom } from '../connectors/github/credentials';
import { createGitHubConnector } from '../connectors/github/index';
import type { LambdaEnvironment } from './aws';

/**
 * The GitHub connector on Lambda, from the GitHub secret (a token or a GitHub App installation).
 * The secret is read through the runtime's TTL cache on every use; when its content changes (a new
 * token, a new App key) the connector is rebuilt, so a warm container never keeps using a
 * credential that was rotated away. Only the handlers that declare it bundle Octokit.
 */
export function gitHubOnLambda(environment: LambdaEnvironment): () => Promise<Connector> {
  let built: { fingerprint: string; connector: Connector } | undefined;
  return async () => {
    // Bad credentials throw here (every bad field named, no value) and nothing is kept.
    const secret = await environment.readSecret('GITHUB_SECRET_ARN', [], (value) =>
      gitHubCredentialsFrom(value, 'the GitHub secret'),
    );
    if (built?.fingerprint === secret.fingerprint) return built.connector;
    const credentials = secret.value;
    const { config } = environment;
    const connector = createGitHubConnector({
      organization: config.github.organization,
      token: credentials.kind === 'token' ? credentials.token : '',
      ...(credentials.kind === 'app'
        ? {
            app: {
              appId: credentials.appId,
              installationId: credentials.installationId,
              privateKey: credentials.privateKey,
            },
          }
        : {}),
      baseUrl: config.github.apiUrl,
      warn: (message) => environment.log.warn(message),
    });
    built = { fingerprint: secret.fingerprint, connector };
    return connector;
  };
}
