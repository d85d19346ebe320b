/**
 * The shared shapes now live in @prospectflow/contracts (one definition for the API, its services
 * and browser code); auth-core re-exports them so existing imports keep working: the names of the
 * browser entry (frontend.ts, the one list of them) and the two only server code used.
 */

export { AUTH_ERRORS, isRole } from '@prospectflow/contracts';
export * from './frontend.js';
