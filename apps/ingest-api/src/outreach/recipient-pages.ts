/**
 * The pages a recipient sees behind the unsubscribe link of every message (/u/{token}): they
 * name the sending organisation, speak French or English (Accept-Language), link to the
 * organisation's privacy notice, and offer unsubscribing (Art. 21) and erasure (Art. 17). Plain
 * HTML forms: they work without JavaScript and with the keyboard alone.
 */
export type Lang = 'fr' | 'en';

export interface Sender {
  name: string;
  privacyNoticeUrl: string | null;
}

/** The first of French or English in the Accept-Language list (by q-value), English otherwise. */
export function pickLanguage(header: string | undefined): Lang {
  const ranked = (header ?? '')
    .split(',')
    .map((part, index) => {
      const [tag = '', ...params] = part.trim().toLowerCase().split(';');
      const q = Number(params.find((p) => p.trim().startsWith('q='))?.split('=')[1] ?? 1);
      return { primary: tag.split('-')[0], q: Number.isFinite(q) ? q : 0, index };
    })
    .filter((entry) => (entry.primary === 'fr' || entry.primary === 'en') && entry.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index);
  return ranked[0]?.primary === 'fr' ? 'fr' : 'en';
}

const TEXT = {
  en: {
    confirmTitle: 'Unsubscribe',
    confirmHeading: (org: string) => `Stop emails from ${org}?`,
    confirmBody: (org: string) =>
      `${org} wrote to you as part of its business prospecting. You can stop its emails, or ask it to erase the data it holds about you.`,
    unsubscribe: 'Unsubscribe',
    erasureHeading: 'Erase my data',
    erasureBody: (org: string) =>
      `${org} will stop writing to you at once and must erase your data within one month (GDPR Art. 17 and 21).`,
    erase: 'Ask for my data to be erased',
    doneTitle: 'Unsubscribed',
    doneHeading: (org: string) => `You are unsubscribed from ${org}`,
    doneBody: 'You will receive no more emails from this sender.',
    requestedTitle: 'Erasure requested',
    requestedHeading: (org: string) => `Your request has been sent to ${org}`,
    requestedBody: (org: string) =>
      `${org} will send you no more emails and must erase your data within one month.`,
    notice: (org: string) => `Privacy notice of ${org}`,
    unknownSender: 'this sender',
  },
  fr: {
    confirmTitle: 'Désabonnement',
    confirmHeading: (org: string) => `Ne plus recevoir d’e-mails de ${org} ?`,
    confirmBody: (org: string) =>
      `${org} vous a écrit dans le cadre de sa prospection commerciale. Vous pouvez arrêter ses e-mails, ou lui demander d’effacer les données qu’elle détient sur vous.`,
    unsubscribe: 'Me désabonner',
    erasureHeading: 'Effacer mes données',
    erasureBody: (org: string) =>
      `${org} cessera immédiatement de vous écrire et doit effacer vos données sous un mois (RGPD, articles 17 et 21).`,
    erase: 'Demander l’effacement de mes données',
    doneTitle: 'Désabonné',
    doneHeading: (org: string) => `Vous êtes désabonné des e-mails de ${org}`,
    doneBody: 'Vous ne recevrez plus d’e-mails de cet expéditeur.',
    requestedTitle: 'Effacement demandé',
    requestedHeading: (org: string) => `Votre demande a été transmise à ${org}`,
    requestedBody: (org: string) => `${org} ne vous écrira plus et doit effacer vos données sous un mois.`,
    notice: (org: string) => `Politique de confidentialité de ${org}`,
    unknownSender: 'cet expéditeur',
  },
} as const;

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function layout(lang: Lang, title: string, body: string): string {
  return `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><meta name="robots" content="noindex">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;line-height:1.5}
button{font:inherit;padding:.5rem 1rem;margin:.25rem 0}button:focus-visible,a:focus-visible{outline:3px solid #1a5fb4;outline-offset:2px}
section{border-top:1px solid #ccc;margin-top:2rem;padding-top:1rem}</style></head>
<body><main>${body}</main></body></html>`;
}

function notice(lang: Lang, sender: Sender | undefined, org: string): string {
  if (!sender?.privacyNoticeUrl) return '';
  return `<p><a href="${escapeHtml(sender.privacyNoticeUrl)}">${escapeHtml(TEXT[lang].notice(org))}</a></p>`;
}

function erasureForm(lang: Lang, action: string, org: string): string {
  const t = TEXT[lang];
  return `<section aria-labelledby="erase-heading"><h2 id="erase-heading">${t.erasureHeading}</h2>
<p>${escapeHtml(t.erasureBody(org))}</p>
<form method="post" action="${escapeHtml(action)}/erasure"><button type="submit">${t.erase}</button></form></section>`;
}

/** GET /u/{token}: asks; unsubscribing needs a POST (RFC 8058: link scanners must not unsubscribe). */
export function confirmPage(lang: Lang, action: string, sender: Sender | undefined): string {
  const t = TEXT[lang];
  const org = sender?.name ?? t.unknownSender;
  return layout(
    lang,
    t.confirmTitle,
    `<h1>${escapeHtml(t.confirmHeading(org))}</h1><p>${escapeHtml(t.confirmBody(org))}</p>
<form method="post" action="${escapeHtml(action)}"><input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">${t.unsubscribe}</button></form>
${erasureForm(lang, action, org)}${notice(lang, sender, org)}`,
  );
}

/** After POST /u/{token}: unsubscribed; erasure still offered. */
export function unsubscribedPage(lang: Lang, action: string, sender: Sender | undefined): string {
  const t = TEXT[lang];
  const org = sender?.name ?? t.unknownSender;
  return layout(
    lang,
    t.doneTitle,
    `<h1>${escapeHtml(t.doneHeading(org))}</h1><p>${t.doneBody}</p>${erasureForm(lang, action, org)}${notice(lang, sender, org)}`,
  );
}

/** After POST /u/{token}/erasure. */
export function erasureRequestedPage(lang: Lang, sender: Sender | undefined): string {
  const t = TEXT[lang];
  const org = sender?.name ?? t.unknownSender;
  return layout(
    lang,
    t.requestedTitle,
    `<h1>${escapeHtml(t.requestedHeading(org))}</h1><p>${escapeHtml(t.requestedBody(org))}</p>${notice(lang, sender, org)}`,
  );
}
