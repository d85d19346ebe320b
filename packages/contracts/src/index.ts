export * from './errors.js';
export * from './roles.js';
export * from './session.js';
export * from './statuses.js';
