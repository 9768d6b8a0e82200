import { describe, expect, it } from 'vitest';
import { type Connector, connectorRegistry } from '../../../functions/connectors/connector';
import { ConnectorError } from '../../../functions/core/errors';

const fake = (): Connector => ({
  name: 'github',
  async *snapshot() {},
  revoke: async () => {
    throw new Error('not used');
  },
  check: async () => {
    throw new Error('not used');
  },
  usage: () => ({ requests: {}, points: {} }),
});

describe('the connector registry', () => {
  it('builds each configured connector once, on first use', async () => {
    let builds = 0;
    const registry = connectorRegistry({
      github: async () => {
        builds++;
        return fake();
      },
    });
    expect(registry.names).toEqual(['github']);
    expect(builds).toBe(0);
    const [first, second] = await Promise.all([registry.get('github'), registry.get('github')]);
    expect(first).toBe(second);
    expect(builds).toBe(1);
  });

  it('refuses a connector that is not configured, naming what is', async () => {
    await expect(connectorRegistry({}).get('github')).rejects.toThrow(
      new ConnectorError('connector github is not configured (configured: none)'),
    );
  });

  it('tries a failed build again on the next use (a secret not readable yet)', async () => {
    let attempts = 0;
    const registry = connectorRegistry({
      github: async () => {
        attempts++;
        if (attempts === 1) throw new Error('AccessDeniedException reading the GitHub secret');
        return fake();
      },
    });
    await expect(registry.get('github')).rejects.toThrow(/AccessDenied/);
    await expect(registry.get('github')).resolves.toBeDefined();
    expect(attempts).toBe(2);
  });
});
