export {
  applyInbound,
  headerAddress,
  type InboundKind,
  type InboundRecord,
  type InboundResult,
} from './inbound.js';
export { answeredMessageIds, contentMessageId, messageIdsIn, normaliseMessageId } from './message-id.js';
export {
  type RetentionPolicy,
  type RetentionRule,
  type RetentionRuleName,
  retentionRules,
} from './retention.js';
export {
  type DomainCheck,
  PROOF_UNCONFIRMED_LIMIT_DAYS,
  REVERIFY_MAILBOX,
  recordDomainCheck,
  verifyRelayMailboxes,
  withdrawRelayMailboxes,
} from './sending-domains.js';
export {
  bumpDailyStat,
  messageCampaign,
  type Queryable,
  STAT_COLUMNS,
  type StatColumn,
} from './stats.js';
export {
  STOP_RULES,
  type StopReason,
  type StopRequest,
  type StopResult,
  type StopRule,
  type StopTarget,
  SUPPRESSED_ENROLLMENT,
  type SuppressionReason,
  stopEnrollment,
  stopRule,
  suppressAddress,
} from './stop.js';
export {
  loadSubjectKeys,
  normaliseSubjectEmail,
  type SubjectKey,
  type SubjectKeys,
  subjectHmac,
  subjectHmacs,
} from './subject-hash.js';
export { emailsIn, nameWords, normaliseSubjectName, subjectNameHmac } from './subject-match.js';
export {
  cancelPendingTasks,
  DEDUPE_KEY,
  DEFAULT_MAX_ATTEMPTS,
  ENQUEUE_ON_CONFLICT,
  enqueue,
  type NewTask,
  PRIORITY,
  resumeAtPendingTasks,
  TASK_KINDS,
  TASKS,
  type TaskKind,
} from './tasks.js';
export {
  NOTICE_VARIABLES,
  render,
  TEMPLATE_VARIABLES,
  TemplateError,
  type TemplateValues,
  type TemplateVariable,
  unknownNoticeVariables,
  unknownVariables,
  usesVariable,
} from './template.js';
export { mailtoUnsubscribeToken, unsubscribeByToken } from './unsubscribe.js';
