import { expect } from 'chai';
import { decidePlacement, type PlacementFacts, type PlacementVerdict } from '../../../../controllers/instances/placement-guard.js';

describe('decidePlacement', () => {
  const rows: Array<{ title: string; facts: PlacementFacts; want: PlacementVerdict }> = [
    { title: 'plans as usual with no local copy and no fencing', facts: { epoch: 3, fenced: false }, want: { kind: 'proceed' } },
    {
      title: 'plans as usual when the local copy was made for the current epoch',
      facts: { epoch: 3, recordEpoch: 3, fenced: false },
      want: { kind: 'proceed' },
    },
    {
      title: 'removes a local copy made for an older epoch first',
      facts: { epoch: 3, recordEpoch: 2, fenced: false },
      want: { kind: 'staleCopy', recordEpoch: 2 },
    },
    {
      title: 'removes a stale copy even when the instance is fenced',
      facts: { epoch: 3, recordEpoch: 1, fenced: true },
      want: { kind: 'staleCopy', recordEpoch: 1 },
    },
    { title: 'keeps a fenced instance stopped', facts: { epoch: 3, recordEpoch: 3, fenced: true }, want: { kind: 'fenced' } },
    {
      title: 'does not call a copy from a newer epoch stale',
      facts: { epoch: 3, recordEpoch: 4, fenced: false },
      want: { kind: 'proceed' },
    },
  ];
  for (const row of rows) {
    it(row.title, () => {
      expect(decidePlacement(row.facts)).to.deep.equal(row.want);
    });
  }
});
