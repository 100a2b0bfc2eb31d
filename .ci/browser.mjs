// Swagger UI in a real browser (Debian's Chromium driven by playwright-core), as a new user
// meets it: Authorize with the printed admin token, then "Try it out" → "Execute" on
// GET /opportunities and POST /opportunities with exactly what the UI pre-fills, and read the
// live response the UI shows: 200 with a non-empty `items`, then 201 with the created
// opportunity. Run by .ci/browser, which starts the server and passes, in the environment:
//   BASE_URL      the server's base URL (http://127.0.0.1:<port>)
//   ADMIN_TOKEN   the token the server printed
//   NODE_MODULES  the folder playwright-core is installed in (target/ci-node/node_modules)
//   CHROMIUM      the browser binary (/usr/bin/chromium)
//   SCREENSHOT    where to save a screenshot of the page when a check fails
import { createRequire } from 'node:module';

const { BASE_URL, ADMIN_TOKEN, NODE_MODULES, CHROMIUM, SCREENSHOT } = process.env;
const require = createRequire(`${NODE_MODULES}/`);
const { chromium } = require('playwright-core');

class Mismatch extends Error {}
const check = (ok, message) => {
  if (!ok) throw new Mismatch(message);
};

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  // Chromium's sandbox refuses to run as root; as any other user it stays on.
  chromiumSandbox: process.getuid() !== 0,
});
const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
page.setDefaultTimeout(15_000);
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(String(e)));
// Swagger UI's rendering errors ("Could not render …, see the console") only reach the console.
const consoleErrors = [];
page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
const started = Date.now();
const step = (what) => console.log(`  ${((Date.now() - started) / 1000).toFixed(1)}s ${what}`);

// Expands an operation, switches it to "Try it out", checks the parameters the UI shows and
// clicks Execute; returns the live response as the UI renders it: status and body text.
let current = null; // the operation under test, for the screenshot
async function tryItOut(operationId, inspect) {
  const op = page.locator(`#operations-opportunities-${operationId}`);
  current = op;
  await op.locator('.opblock-summary-control').click();
  await op.locator('button.try-out__btn').click();
  await op.locator('button.execute').waitFor();
  if (inspect) await inspect(op);
  await op.locator('button.execute').click();
  const status = op.locator('.live-responses-table tr.response .response-col_status');
  await status.waitFor();
  const code = (await status.innerText()).trim();
  const body = op.locator('.live-responses-table tr.response .response-col_description pre');
  await body.first().waitFor();
  const text = await body.first().innerText();
  const url = await op.locator('.request-url pre').first().innerText().catch(() => '?');
  return { code, text, url: url.trim() };
}

function json(text, what) {
  try {
    return JSON.parse(text);
  } catch {
    throw new Mismatch(`${what}: the response body shown is not JSON:\n${text.slice(0, 2000)}`);
  }
}

try {
  await page.goto(`${BASE_URL}/swagger-ui/`);
  await page.locator('#operations-opportunities-list_opportunities').waitFor();
  step('Swagger UI loaded the spec');

  // Authorize: the modal's bearer field takes the token as printed (without "Bearer ").
  await page.locator('.auth-wrapper button.authorize').click();
  const modal = page.locator('.dialog-ux .modal-ux');
  await modal.locator('input[aria-label="auth-bearer-value"]').fill(ADMIN_TOKEN);
  await modal.locator('button.modal-btn.auth.authorize').click();
  await modal.locator('button.modal-btn.auth', { hasText: 'Logout' }).waitFor();
  await modal.locator('button.btn-done').click();
  await modal.waitFor({ state: 'detached' });
  step('authorized with the printed token');

  // GET /opportunities with the pre-filled parameters.
  const prefilled = {};
  const list = await tryItOut('list_opportunities', async (op) => {
    for (const row of await op.locator('tr[data-param-name]').all()) {
      const name = await row.getAttribute('data-param-name');
      const input = row.locator('input[type=text], select').first();
      if ((await input.count()) === 0) continue;
      const value = await input.inputValue();
      if (value !== '') prefilled[name] = value;
    }
  });
  step(`GET /opportunities with ${JSON.stringify(prefilled)}: ${list.code} (${list.url})`);
  check(list.code === '200', `GET /opportunities answered ${list.code}, expected 200:\n${list.text.slice(0, 2000)}`);
  const page1 = json(list.text, 'GET /opportunities');
  check(
    Array.isArray(page1.items) && page1.items.length > 0,
    `GET /opportunities with the pre-filled parameters ${JSON.stringify(prefilled)} shows no items:\n${list.text.slice(0, 2000)}`,
  );
  step(`the list shows ${page1.items.length} opportunities`);

  // POST /opportunities with the pre-filled body. A pre-filled Idempotency-Key would be the
  // same literal for every user and every try (a second try with another body is a 422), so
  // the field must be empty; it must also be optional. Were it required, a user would type a
  // fresh value, so would we, and say so.
  let requiredKey = false;
  let sentBody = '';
  const create = await tryItOut('create_opportunity', async (op) => {
    const row = op.locator('tr[data-param-name="Idempotency-Key"]');
    check((await row.count()) === 1, 'POST /opportunities shows no Idempotency-Key parameter');
    const key = row.locator('input[type=text]');
    const value = await key.inputValue();
    check(value === '', `Swagger UI pre-fills Idempotency-Key with ${JSON.stringify(value)}: every try would share it`);
    requiredKey = (await row.locator('.parameter__name.required').count()) > 0;
    if (requiredKey) await key.fill(crypto.randomUUID());
    sentBody = await op.locator('textarea.body-param__text').inputValue();
    check(sentBody.trim() !== '', 'POST /opportunities has no pre-filled request body');
  });
  if (requiredKey) console.log('  NOTE: Swagger UI marks Idempotency-Key as required; a fresh value was filled in');
  const keyState = requiredKey ? 'required, filled with a fresh value' : 'optional, not pre-filled';
  step(`POST /opportunities with the pre-filled body (Idempotency-Key ${keyState}): ${create.code}`);
  check(
    create.code === '201',
    `POST /opportunities with the pre-filled body answered ${create.code}, expected 201.\nBody sent:\n${sentBody}\nResponse:\n${create.text.slice(0, 2000)}`,
  );
  const created = json(create.text, 'POST /opportunities');
  check(typeof created.id === 'string' && created.id !== '', `POST /opportunities: 201 without an id:\n${create.text.slice(0, 2000)}`);
  step(`created opportunity ${created.id} (${created.subject ?? ''})`);
  check(pageErrors.length === 0, `Swagger UI raised errors in the page:\n${pageErrors.join('\n')}`);
  console.log('Swagger UI: authorize, list (200, items) and create (201) work on the demo data');
} catch (e) {
  // The operation under test (its inputs and the response shown), else what the user sees.
  await (current ?? page).screenshot({ path: SCREENSHOT }).catch(() => page.screenshot({ path: SCREENSHOT }));
  const what = e instanceof Mismatch ? e.message : `${e.stack ?? e}`;
  console.error(`Swagger UI browser test failed: ${what}\nscreenshot: ${SCREENSHOT}`);
  if (pageErrors.length) console.error(`errors in the page:\n${pageErrors.join('\n')}`);
  if (consoleErrors.length) console.error(`errors on the console:\n${consoleErrors.join('\n')}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
