import { enqueue, TASKS } from '@prospectflow/outreach-core';
import type { TenantClient } from '@prospectflow/tenant-context';

export { cancelPendingTasks } from '@prospectflow/outreach-core';

/** Queues the worker's schedule task for these enrollments (one live task per enrollment). */
export async function enqueueScheduling(client: TenantClient, enrollmentIds: string[]): Promise<void> {
  await enqueue(
    client,
    enrollmentIds.map((id) => TASKS.scheduleEnrollment(id)),
  );
}
