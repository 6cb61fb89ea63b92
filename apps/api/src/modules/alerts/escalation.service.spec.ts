import { nextStepAt } from './escalation.service.js';

const at = (min: number) => new Date(Date.UTC(2026, 0, 1) + min * 60_000);
const steps = [{ afterMinutes: 0 }, { afterMinutes: 5 }, { afterMinutes: 20 }];

describe('nextStepAt', () => {
  it('keeps the spacing of afterMinutes when steps go out on time', () => {
    expect(nextStepAt(steps, null, 0, at(0), at(0))).toEqual(at(5));
    // A tick a few seconds late does not shift the schedule.
    expect(nextStepAt(steps, null, 1, at(5), at(5.2))).toEqual(at(20));
  });

  it('after the last step: the repeat interval, or nothing', () => {
    expect(nextStepAt(steps, null, 2, at(20), at(20))).toBeNull();
    expect(nextStepAt(steps, 30, 2, at(20), at(20))).toEqual(at(50));
    // Repeats of the last step keep repeating.
    expect(nextStepAt(steps, 30, 5, at(110), at(110))).toEqual(at(140));
  });

  it('after a pause (an ack that expired, maintenance), counts the spacing from the resume', () => {
    // Step 1 was due at minute 0 but an ack held it until minute 45.
    expect(nextStepAt(steps, null, 0, at(0), at(45))).toEqual(at(50));
    expect(nextStepAt(steps, null, 1, at(50), at(90))).toEqual(at(105));
  });

  it('never schedules before the step it follows when the policy was edited to equal minutes', () => {
    expect(nextStepAt([{ afterMinutes: 3 }, { afterMinutes: 3 }], null, 0, at(3), at(3))).toEqual(
      at(3),
    );
  });
});
