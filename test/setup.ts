import '../lib/local/node20';
