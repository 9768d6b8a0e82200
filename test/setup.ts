import '../lib/local/node20';

process.env.GITHUB_SANDBOX_OPENAPI ??= 'check';
process.env.AWS_SANDBOX_SCHEMA ??= 'check';
