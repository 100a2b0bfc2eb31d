// The public quote page in a real browser (Debian's Chromium driven by playwright-core), as a
// customer meets it: quotes are e-mailed through the API (the embedded default writes them as
// .eml files), the link is taken from the e-mail, and Chromium opens it on a phone-sized
// screen: the offer and its PDF, Accept with a name, then the confirmation; a superseded link
// (a newer revision was sent) and an expired one (its validity set into the past in the
// database) show why they no longer work. Run by .ci/browser, with, in the environment:
//   BASE_URL, ADMIN_TOKEN, NODE_MODULES, CHROMIUM, SCREENSHOT  as for .ci/browser.mjs
//   MAIL_DIR      the folder the server writes its .eml files to
//   PSQL_URL      the embedded database, to let a quote expire
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';

const { BASE_URL, ADMIN_TOKEN, NODE_MODULES, CHROMIUM, SCREENSHOT, MAIL_DIR, PSQL_URL } = process.env;
const require = createRequire(`${NODE_MODULES}/`);
const { chromium } = require('playwright-core');

class Mismatch extends Error {}
const check = (ok, message) => {
  if (!ok) throw new Mismatch(message);
};
const ids = Object.fromEntries(
  execFileSync('target/debug/salesfunnel', ['ids'], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((line) => line.split('=')),
);

async function api(method, path, body) {
  const response = await fetch(`${BASE_URL}/api/v1${path}`, {
    method,
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  check(response.ok, `${method} ${path} answered ${response.status}: ${text.slice(0, 1000)}`);
  return JSON.parse(text);
}

const emails = () => new Set(readdirSync(MAIL_DIR).filter((f) => f.endsWith('.eml')));

// Sends the quote to the customer and returns the link in the e-mail's text part.
async function send(quote) {
  const before = emails();
  await api('POST', `/quotes/${quote.id}/send`, { to: ['anna.schmidt@kunde.example'] });
  const fresh = [...emails()].filter((f) => !before.has(f));
  check(fresh.length === 1, `sending ${quote.number} wrote ${fresh.length} .eml files`);
  const text = execFileSync(
    'python3',
    ['-c', 'import email, email.policy, sys; '
      + 'm = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default); '
      + 'print(next(p for p in m.walk() if p.get_content_type() == "text/plain").get_content())',
    `${MAIL_DIR}/${fresh[0]}`],
    { encoding: 'utf8' },
  );
  const link = text.split('\n').map((l) => l.trim()).find((l) => l.startsWith(`${BASE_URL}/public/quotes/`));
  check(link, `no link in the e-mail of ${quote.number}:\n${text}`);
  return link;
}

async function quotedOpportunity(subject) {
  const opportunity = await api('POST', '/opportunities', {
    subject, business_partner_id: ids.PARTNER_AUTOHAUS_MUELLER_GMBH, class_id: ids.CLASS_NEUWAGEN,
    stage_id: ids.STAGE_ERSTGESPRAECH,
  });
  await api('POST', `/opportunities/${opportunity.id}/lines`, { article_id: ids.ARTICLE_VW_ID4_PRO, quantity: 1 });
  return opportunity;
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  chromiumSandbox: process.getuid() !== 0,
});
// A phone: the page must work on the screen a customer opens an e-mail on.
const page = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
page.setDefaultTimeout(15_000);
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(String(e)));
const external = [];
page.on('request', (r) => {
  if (!r.url().startsWith(BASE_URL)) external.push(r.url());
});
try {
  const opportunity = await quotedOpportunity('Browser: Angebot online annehmen');
  const first = await api('POST', `/opportunities/${opportunity.id}/quotes`, {});
  const superseded = await send(first);
  const second = await api('POST', `/opportunities/${opportunity.id}/quotes`, {});
  const link = await send(second);

  let response = await page.goto(link);
  check(response.status() === 200, `the link answered ${response.status()}`);
  await page.getByRole('heading', { name: `Angebot ${second.number}` }).waitFor();
  check((await page.locator('body').innerText()).includes('VW ID.4'), 'the offer does not show its line');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `the page is ${overflow}px wider than the phone's screen`);
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByText('Angebot als PDF herunterladen').click()]);
  check(download.suggestedFilename() === `Angebot-${second.number}.pdf`, `the PDF is named ${download.suggestedFilename()}`);
  console.log(`  ${second.number}: the offer and its PDF on a phone`);

  await page.getByLabel('Ihr Name').fill('Anna Schmidt');
  await page.getByRole('button', { name: 'Angebot annehmen' }).click();
  await page.getByText('von Anna Schmidt angenommen').waitFor();
  check(page.url() === link, `after accepting the browser is at ${page.url()}`);
  check((await page.getByRole('button', { name: 'Angebot annehmen' }).count()) === 0, 'Accept is still offered');
  const accepted = await api('GET', `/quotes/${second.id}`);
  check(accepted.status === 'accepted', `the quote is ${accepted.status}`);
  check(accepted.customer_decision?.name === 'Anna Schmidt', `recorded: ${JSON.stringify(accepted.customer_decision)}`);
  check(/Chrome/.test(accepted.customer_decision?.user_agent ?? ''), 'the user agent is not recorded');
  console.log(`  ${second.number}: accepted by Anna Schmidt (${accepted.customer_decision.client_address})`);

  response = await page.goto(superseded);
  check(response.status() === 410, `the superseded link answered ${response.status()}`);
  await page.getByText('neuere Fassung').waitFor();
  check((await page.getByRole('button', { name: 'Angebot annehmen' }).count()) === 0, 'a superseded quote offers Accept');
  console.log(`  ${first.number}: the superseded link says so (410)`);

  const other = await quotedOpportunity('Browser: abgelaufenes Angebot');
  const late = await api('POST', `/opportunities/${other.id}/quotes`, {});
  const expired = await send(late);
  execFileSync('psql', [PSQL_URL, '-qc', `UPDATE quotes SET valid_until = current_date - 1 WHERE id = '${late.id}'`]);
  response = await page.goto(expired);
  check(response.status() === 410, `the expired link answered ${response.status()}`);
  await page.getByText('abgelaufen').waitFor();
  console.log(`  ${late.number}: the expired link says so (410)`);

  check(pageErrors.length === 0, `errors in the page:\n${pageErrors.join('\n')}`);
  check(external.length === 0, `the page loaded from elsewhere: ${external.join(', ')}`);
  console.log('public quote page: view, download, accept; superseded and expired links refused');
} catch (e) {
  await page.screenshot({ path: SCREENSHOT }).catch(() => {});
  const what = e instanceof Mismatch ? e.message : `${e.stack ?? e}`;
  console.error(`public quote page browser test failed: ${what}\nscreenshot: ${SCREENSHOT}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
