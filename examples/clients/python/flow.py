"""A short flow through the Python client that openapi-python-client generates from
openapi/openapi.json: partner → opportunity → lines → quote → PDF → win → the typed
`opportunity.won` event of the feed. Money arrives as
`str` (the `Money` schema) and is summed as `Decimal`; `mypy --strict` checks that.

    openapi-python-client generate --path openapi/openapi.json --meta none \
        --config examples/clients/python/openapi-python-client.yaml \
        --output-path target/ci-clients/python/salesfunnel_client
    PYTHONPATH=target/ci-clients/python python examples/clients/python/flow.py http://127.0.0.1:8080 "$TOKEN"
"""

import sys
import time
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar
from uuid import UUID

from salesfunnel_client import AuthenticatedClient
from salesfunnel_client.api.business_partners import create_partner
from salesfunnel_client.api.events import list_events
from salesfunnel_client.api.opportunities import create_opportunity, get_opportunity, win
from salesfunnel_client.api.opportunity_lines import create_line
from salesfunnel_client.api.quotes import create_quote, quote_pdf
from salesfunnel_client.models import (
    Country,
    Currency,
    EventPage,
    EventType,
    Line,
    NewLineRequest,
    NewOpportunityRequest,
    NewPartnerRequest,
    NewQuoteRequest,
    Opportunity,
    OpportunityWonEvent,
    Outcome,
    Partner,
    PartnerKind,
    ProblemDetails,
    Quote,
    WinRequest,
)
from salesfunnel_client.types import File, Response

T = TypeVar("T")


def demo_id(n: int) -> UUID:
    """The demo data's fixed ids (src/seed)."""
    return UUID(int=0x0193_0000_0000_7000_8000_0000_0000_0000 | n)


ANFRAGE = demo_id(201)  # the first stage of the NEUWAGEN funnel
CENT = Decimal("0.01")


def money(amount: str) -> Decimal:
    """A `Money` field as an exact decimal: typed `str`, never `float | str`."""
    return Decimal(amount)


def must(response: Response[T | ProblemDetails], kind: type[T], what: str) -> T:
    parsed = response.parsed
    if not isinstance(parsed, kind):
        raise SystemExit(f"{what}: {response.status_code} {response.content[:500]!r}")
    return parsed


def check(condition: bool, what: str) -> None:
    if not condition:
        raise SystemExit(f"check failed: {what}")
    print(f"ok  {what}")


def won_event(client: AuthenticatedClient, opportunity: UUID) -> OpportunityWonEvent:
    """The feed's `opportunity.won` event of `opportunity`, read as an ERP would."""
    after = 0
    while True:
        page = must(
            list_events.sync_detailed(client=client, after=after, type_=EventType.OPPORTUNITY_WON),
            EventPage,
            "read the event feed",
        )
        for event in page.items:
            if isinstance(event, OpportunityWonEvent) and event.data.opportunity.id == opportunity:
                return event
        if not page.items:
            raise SystemExit(f"no opportunity.won event for {opportunity}")
        after = page.next_after


def main(base_url: str, token: str) -> None:
    client = AuthenticatedClient(base_url=base_url, token=token, raise_on_unexpected_status=True)
    stamp = str(time.time_ns())
    partner = must(
        create_partner.sync_detailed(
            client=client,
            body=NewPartnerRequest(kind=PartnerKind.LEAD, name=f"Autohaus Python {stamp}", country=Country.DE),
        ),
        Partner,
        "create partner",
    )
    created = must(
        create_opportunity.sync_detailed(
            client=client,
            body=NewOpportunityRequest(
                subject=f"Generated client flow (Python) {stamp}",
                business_partner_id=partner.id,
                class_id="NEUWAGEN",
                stage_id=ANFRAGE,
                currency=Currency.EUR,
            ),
        ),
        Opportunity,
        "create opportunity",
    )
    # Requests may send money and quantities as strings or numbers (MoneyInput, QuantityInput).
    bodies = [
        NewLineRequest(description="ID.4 Pro", quantity="2.5", unit_price="19990.50", discount_percent=5),
        NewLineRequest(description="Fußmatten", quantity=3, unit_price=12.34),
    ]
    lines = [must(create_line.sync_detailed(created.id, client=client, body=b), Line, "add a line") for b in bodies]
    for line in lines:
        factor = (100 - Decimal(str(line.discount_percent))) / 100
        expected = (Decimal(line.quantity) * money(line.unit_price) * factor).quantize(CENT, ROUND_HALF_UP)
        check(money(line.line_total) == expected, f"line {line.position}: {line.line_total} = quantity × price − discount")

    opportunity = must(get_opportunity.sync_detailed(created.id, client=client), Opportunity, "read the opportunity")
    lines_total = sum((money(line.line_total) for line in lines), Decimal(0))
    check(money(opportunity.target_value) == lines_total, f"target value {opportunity.target_value} = the sum of its lines")

    quote = must(create_quote.sync_detailed(created.id, client=client, body=NewQuoteRequest()), Quote, "make a quote")
    net, tax, gross = money(quote.net_total), money(quote.tax_total), money(quote.gross_total)
    check(net == sum((money(line.line_total) for line in quote.lines), Decimal(0)), f"quote net {net} = its lines")
    check(tax == sum((money(t.amount) for t in quote.taxes), Decimal(0)), f"quote tax {tax} = its taxes")
    check(gross == net + tax, f"quote gross {gross} = net + tax")
    check(net == lines_total, "quote net = opportunity target value")

    pdf = must(quote_pdf.sync_detailed(quote.id, client=client), File, "download the PDF")
    content = pdf.payload.read()
    check(content.startswith(b"%PDF-"), f"the PDF ({len(content)} bytes) starts with %PDF-")

    current = must(get_opportunity.sync_detailed(created.id, client=client), Opportunity, "read it again")
    won = must(
        win.sync_detailed(created.id, client=client, body=WinRequest(note="Signed"), if_match=f'"{current.version}"'),
        Opportunity,
        "win",
    )
    check(won.status == Outcome.WON, f"{won.number} is won")
    check(money(won.target_value) == net, f"won value {won.target_value} = the quote's net total")

    data = won_event(client, won.id).data
    check(money(data.opportunity.target_value) == net, "the won event's opportunity has the won value")
    check(sum((money(line.line_total) for line in data.lines), Decimal(0)) == net, "the won event's lines add up to it")
    primary = data.primary_quote
    check(primary is not None and money(primary.gross_total) == gross, "the won event's primary quote is the quote")
    print(f"Python client flow passed: {partner.number} → {won.number} → {quote.number}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: flow.py <base url> <token>")
    main(sys.argv[1], sys.argv[2])
