import { isErrorRateUp } from './rollout-health.js';

describe('rollout health: error_rate "went up"', () => {
  it('needs a rise of more than 5 points and to more than 1.5× the baseline', () => {
    expect(isErrorRateUp(1, 4)).toBe(false); // +3 points
    expect(isErrorRateUp(1, 6.5)).toBe(true); // +5.5 points, 6.5×
    expect(isErrorRateUp(0, 5)).toBe(false); // exactly 5 points is not more
    expect(isErrorRateUp(0, 5.1)).toBe(true);
    expect(isErrorRateUp(20, 26)).toBe(false); // +6 points but only 1.3×
    expect(isErrorRateUp(20, 31)).toBe(true); // +11 points, 1.55×
    expect(isErrorRateUp(10, 2)).toBe(false); // down is healthy
  });
});
