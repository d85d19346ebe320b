import { PrismaPg } from '@prisma/adapter-pg';
import type pg from 'pg';
import { PrismaClient } from '../generated/prisma/client.js';

export interface PrismaClientOptions {
  /** Name of the schema for unqualified names; the models are schema-qualified, so rarely needed. */
  schema?: string;
  log?: ('query' | 'info' | 'warn' | 'error')[];
}

/**
 * A Prisma 7 client on `@prisma/adapter-pg` (no native engine). Pass a URL (the adapter owns a
 * pool) or your own `pg.Pool` (shared with raw SQL; you end it). Tenant isolation still needs a
 * transaction that sets `app.organisation_id` — see @prospectflow/tenant-context.
 */
export function createPrismaClient(
  urlOrPool: string | pg.Pool,
  options: PrismaClientOptions = {},
): PrismaClient {
  const adapter =
    typeof urlOrPool === 'string'
      ? new PrismaPg({ connectionString: urlOrPool }, options.schema ? { schema: options.schema } : undefined)
      : new PrismaPg(urlOrPool, options.schema ? { schema: options.schema } : undefined);
  return new PrismaClient({ adapter, log: options.log });
}

// One type per model (row shape), e.g. `Company`, `Position`. Keep in step with schema.prisma.
export type {
  ArchiveRow,
  AuditLog,
  Campaign,
  CampaignDailyStat,
  CampaignEnrollment,
  CampaignMailbox,
  Company,
  EnrollmentStepVariantAssignment,
  ErasedName,
  Erasure,
  ErasureRequest,
  Import,
  ImportChange,
  ImportError,
  ImportSourceKey,
  Mailbox,
  MailboxDayCount,
  MailboxSyncState,
  Message,
  MessageOpenStat,
  OpenEvent,
  Organisation,
  OrganisationInvitation,
  OrganisationUser,
  Person,
  Pixel,
  Position,
  PrivacySetting,
  Prompt,
  SendingDomain,
  SourceTable,
  StepExperiment,
  StepExperimentVariant,
  Suppression,
  SuppressionHash,
  Task,
  User,
  WorkflowStep,
} from '../generated/prisma/client.js';
export { Prisma, PrismaClient } from '../generated/prisma/client.js';
