export { bumpDailyStat, messageCampaign, type Queryable, type StatColumn } from './stats.js';
export {
  render,
  TEMPLATE_VARIABLES,
  TemplateError,
  type TemplateValues,
  type TemplateVariable,
  unknownVariables,
} from './template.js';
