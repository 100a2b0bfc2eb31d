// A short flow through the TypeScript types that openapi-typescript generates from
// openapi/openapi.json, sent with openapi-fetch: partner → opportunity → lines → quote → PDF
// → win → the typed `opportunity.won` event of the feed. Money arrives as `Money`, a decimal
// string, and is summed in integer cents.
//
//   npx openapi-typescript ../../../openapi/openapi.json -o generated/api.d.ts
//   npx tsc -p . && node dist/flow.js http://127.0.0.1:8080 "$TOKEN"
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/api.js";

type Money = components["schemas"]["Money"];
type Quantity = components["schemas"]["Quantity"];
type WonEvent = components["schemas"]["OpportunityWonEvent"];

/** The demo data's fixed ids (src/seed): stage ANFRAGE of the NEUWAGEN funnel. */
const demoId = (n: number): string => `01930000-0000-7000-8000-${n.toString(16).padStart(12, "0")}`;
const ANFRAGE = demoId(201);

const [baseUrl, token] = process.argv.slice(2);
if (!baseUrl || !token) throw new Error("usage: node dist/flow.js <base url> <token>");
const api = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${token}` } });

/** An amount in cents; `Money` is a string such as "-1234.50", never a float. */
function cents(money: Money): bigint {
  const match = /^(-?)([0-9]+)\.([0-9]{2})$/.exec(money);
  if (!match) throw new Error(`not a money string: ${money}`);
  const value = BigInt(match[2]! + match[3]!);
  return match[1] ? -value : value;
}

/** Thousandths of a unit, from a `Quantity` such as "2.5". */
function milli(quantity: Quantity): bigint {
  const [whole, fraction = ""] = quantity.split(".");
  return BigInt(whole! + fraction.padEnd(3, "0"));
}

const sum = (amounts: bigint[]): bigint => amounts.reduce((a, b) => a + b, 0n);

/** Divides and rounds half away from zero (the API's rounding). */
function divRound(numerator: bigint, denominator: bigint): bigint {
  const negative = numerator < 0n !== denominator < 0n;
  const [n, d] = [numerator < 0n ? -numerator : numerator, denominator < 0n ? -denominator : denominator];
  const q = (n * 2n + d) / (d * 2n);
  return negative ? -q : q;
}

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`check failed: ${what}`);
  console.log(`ok  ${what}`);
}

function must<T>(result: { data?: T; error?: unknown; response: Response }, what: string): T {
  if (result.data === undefined) {
    throw new Error(`${what}: ${result.response.status} ${JSON.stringify(result.error)}`);
  }
  return result.data;
}

/** The feed's `opportunity.won` event of the opportunity `id`, read as an ERP would. */
async function wonEvent(id: string): Promise<WonEvent> {
  let after = 0;
  for (;;) {
    const page = must(
      await api.GET("/api/v1/events", { params: { query: { after, type: "opportunity.won" } } }),
      "read the event feed",
    );
    for (const event of page.items) {
      // `type` tells the events apart: this narrows the union to OpportunityWonEvent.
      if (event.type === "opportunity.won" && event.data.opportunity.id === id) return event;
    }
    if (page.items.length === 0) throw new Error(`no opportunity.won event for ${id}`);
    after = page.next_after;
  }
}

const stamp = Date.now().toString(36);
const partner = must(
  await api.POST("/api/v1/business-partners", {
    body: { kind: "lead", name: `Autohaus TypeScript ${stamp}`, country: "DE" },
  }),
  "create partner",
);
const created = must(
  await api.POST("/api/v1/opportunities", {
    body: {
      subject: `Generated client flow (TypeScript) ${stamp}`,
      business_partner_id: partner.id,
      class_id: "NEUWAGEN",
      stage_id: ANFRAGE,
      currency: "EUR",
    },
  }),
  "create opportunity",
);
// Requests may send money and quantities as strings or numbers (`MoneyInput`, `QuantityInput`).
const lines = [
  must(
    await api.POST("/api/v1/opportunities/{id}/lines", {
      params: { path: { id: created.id } },
      body: { description: "ID.4 Pro", quantity: "2.5", unit_price: "19990.50", discount_percent: 5 },
    }),
    "add a line",
  ),
  must(
    await api.POST("/api/v1/opportunities/{id}/lines", {
      params: { path: { id: created.id } },
      body: { description: "Fußmatten", quantity: 3, unit_price: 12.34 },
    }),
    "add a second line",
  ),
];
for (const line of lines) {
  // quantity (thousandths) × price (cents) × (100 − discount)% → cents, rounded once.
  const discountBasisPoints = BigInt(Math.round(line.discount_percent * 100));
  const expected = divRound(milli(line.quantity) * cents(line.unit_price) * (10000n - discountBasisPoints), 1000n * 10000n);
  check(cents(line.line_total) === expected, `line ${line.position}: ${line.line_total} = quantity × price − discount`);
}
const opportunity = must(
  await api.GET("/api/v1/opportunities/{id}", { params: { path: { id: created.id } } }),
  "read the opportunity",
);
check(
  cents(opportunity.target_value) === sum(lines.map((l) => cents(l.line_total))),
  `target value ${opportunity.target_value} = the sum of its lines`,
);

const quote = must(
  await api.POST("/api/v1/opportunities/{id}/quotes", { params: { path: { id: created.id } }, body: {} }),
  "make a quote",
);
check(cents(quote.net_total) === sum(quote.lines.map((l) => cents(l.line_total))), `quote net ${quote.net_total} = its lines`);
check(cents(quote.tax_total) === sum(quote.taxes.map((t) => cents(t.amount))), `quote tax ${quote.tax_total} = its taxes`);
check(
  cents(quote.gross_total) === cents(quote.net_total) + cents(quote.tax_total),
  `quote gross ${quote.gross_total} = net + tax`,
);
check(cents(quote.net_total) === cents(opportunity.target_value), "quote net = opportunity target value");

const pdf = must(
  await api.GET("/api/v1/quotes/{id}/pdf", { params: { path: { id: quote.id } }, parseAs: "blob" }),
  "download the PDF",
);
const head = new TextDecoder().decode(new Uint8Array(await pdf.arrayBuffer()).slice(0, 5));
check(head === "%PDF-", `the PDF (${pdf.size} bytes) starts with %PDF-`);

const current = must(
  await api.GET("/api/v1/opportunities/{id}", { params: { path: { id: created.id } } }),
  "read the opportunity again",
);
const won = must(
  await api.POST("/api/v1/opportunities/{id}/win", {
    params: { path: { id: created.id }, header: { "If-Match": `"${current.version}"` } },
    body: { note: "Signed" },
  }),
  "win",
);
check(won.status === "won", `${won.number} is won`);
check(cents(won.target_value) === cents(quote.net_total), `won value ${won.target_value} = the quote's net total`);

const { data } = await wonEvent(won.id);
check(cents(data.opportunity.target_value) === cents(quote.net_total), "the won event's opportunity has the won value");
check(sum(data.lines.map((l) => cents(l.line_total))) === cents(quote.net_total), "the won event's lines add up to it");
check(
  data.primary_quote !== null && cents(data.primary_quote.gross_total) === cents(quote.gross_total),
  "the won event's primary quote is the quote",
);
console.log(`TypeScript client flow passed: ${partner.number} → ${won.number} → ${quote.number}`);
