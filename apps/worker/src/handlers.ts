import { scheduleEnrollment } from './outreach/schedule-enrollment.js';
import { type SendStepDeps, sendStep } from './outreach/send-step.js';
import type { TaskHandlers } from './queue/types.js';

/** The task types this worker runs. */
export function outreachHandlers(deps: SendStepDeps): TaskHandlers {
  return {
    schedule_enrollment: scheduleEnrollment,
    send_step: sendStep(deps),
    noop: async () => {},
  };
}
