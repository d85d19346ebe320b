import { DevIssuer, loadAuthConfig } from '@prospectflow/auth-core';
import { DEMO_IDS, DEMO_OWNER_EMAIL } from '@prospectflow/db-schema';
import { say, warn } from './logs.js';

/**
 * First start only: enrol the demo list in the demo campaign and activate it through the API,
 * as a user would, so the worker sends its first step to the SMTP sink straight away.
 */
export async function startDemoCampaign(baseUrl: string, env: NodeJS.ProcessEnv): Promise<void> {
  const token = DevIssuer.fromConfig(loadAuthConfig({ ...env, AUTH_MODE: 'dev' }), env).mint({
    email: DEMO_OWNER_EMAIL,
    type: 'access',
  });
  const headers = {
    authorization: `Bearer ${token}`,
    'x-organisation-id': DEMO_IDS.organisation,
    'content-type': 'application/json',
  };
  const campaignUrl = `${baseUrl}/v1/campaigns/${DEMO_IDS.campaign}`;
  const campaign = await fetch(campaignUrl, { headers });
  if (!campaign.ok) {
    warn(`demo campaign not started: GET ${campaignUrl} answered ${campaign.status}`);
    return;
  }
  const { status } = (await campaign.json()) as { status: string };
  if (status !== 'draft') return;
  const enrolled = await fetch(`${campaignUrl}/enrollments`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ filter: { listName: 'Demo list' } }),
  });
  const activated = await fetch(`${campaignUrl}/activate`, { method: 'POST', headers, body: '{}' });
  if (!enrolled.ok || !activated.ok) {
    warn(`demo campaign not started: enrol ${enrolled.status}, activate ${activated.status}`);
    return;
  }
  say('demo campaign activated: its first emails go to the SMTP sink within seconds');
}
