import '../lib/local/node20';

process.env.GITHUB_SANDBOX_OPENAPI ??= 'check';
