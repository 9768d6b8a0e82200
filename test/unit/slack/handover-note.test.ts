import { describe, expect, it } from 'vitest';
import { handoverNote } from '../../../functions/steps/handover-message';

describe('handoverNote', () => {
  it("keeps the delegator's note as text: no link, mention or broadcast under the app's name", () => {
    const text = handoverNote({
      from: 'bob',
      by: 'delegation',
      count: 1,
      note: '<https://evil.example/login|Open your access review> <!here> <@U0ALICE01> & co',
    });
    expect(text).toBe(
      'bob delegated 1 grant to you. Note: &lt;https://evil.example/login|Open your access review&gt; &lt;!here&gt; &lt;@U0ALICE01&gt; &amp; co',
    );
    expect(text).not.toMatch(/<[^>]*>/);
  });

  it('says why an escalation came, without a note', () => {
    expect(handoverNote({ from: 'dave', by: 'escalation', count: 2, note: null })).toBe(
      "2 grants of dave's review were escalated to you: dave had not decided them in time.",
    );
  });
});
