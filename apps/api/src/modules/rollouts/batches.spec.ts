import { planBatches } from './batches.js';

const ids = Array.from({ length: 20 }, (_, i) => `a${i}`);

describe('planBatches', () => {
  it('puts everything in one batch for the all-at-once strategy', () => {
    expect(planBatches(ids, 'all', undefined, 5)).toEqual([ids]);
  });
  it('starts with a canary share (rounded up, at least one) then fixed batches', () => {
    const b = planBatches(ids, 'staged', 10, 6);
    expect(b.map((x) => x.length)).toEqual([2, 6, 6, 6]);
    expect(b.flat()).toEqual(ids);
    expect(planBatches(ids.slice(0, 3), 'staged', 1, 2).map((x) => x.length)).toEqual([1, 2]);
  });
  it('without a canary, batches of batchSize with a short last one', () => {
    expect(planBatches(ids, 'staged', undefined, 8).map((x) => x.length)).toEqual([8, 8, 4]);
  });
});
