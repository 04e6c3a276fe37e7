"""The order part of a reply: each order's state, items, parcels, tracking, payment, returns and refunds."""

from __future__ import annotations

import re

from orchestrator.reply_facts import Draft
from support_core.store import CustomerOrders, OrderDetails, Shipment

TIMES = "\u00d7"
PROBLEM_STATUSES = frozenset({"DELAYED", "FAILURE", "NOT_DELIVERED", "ATTEMPTED_DELIVERY"})
DEAD_SHIPMENTS = frozenset({"CANCELLED", "ERROR", "FAILURE"})
CLOSED_STATES = frozenset({"cancelled", "refunded"})


def _order_number(value: str | None) -> str | None:
    digits = re.sub(r"\D", "", value or "")
    return f"#{digits[:12]}" if digits else None


def _item(quantity: int, title: str, variant: str | None = None) -> str:
    return f"{quantity} {TIMES} {title}" + (f" ({variant})" if variant and variant != "Default Title" else "")


def _shipment_lines(d: Draft, shipment: Shipment) -> list[str]:
    book = d.book
    if shipment.status in DEAD_SHIPMENTS:
        return []
    items = ", ".join(_item(item.quantity, item.title) for item in shipment.items)
    status = book.word("delivery_status", shipment.delivery_status or "unknown")
    if items:
        lines = [book.say("shipment", name=shipment.name, items=items, status=status)]
    else:
        lines = [book.say("shipment_no_items", name=shipment.name, status=status)]
    delivered = shipment.delivered_at is not None or shipment.delivery_status in ("DELIVERED", "PICKED_UP")
    for parcel in shipment.tracking:
        carrier = parcel.carrier or book.say("carrier_unknown")
        if parcel.number and parcel.url:
            lines.append(book.say("tracking", carrier=carrier, number=parcel.number, url=parcel.url))
        elif parcel.number:
            lines.append(book.say("tracking_no_url", carrier=carrier, number=parcel.number))
    if not any(parcel.number for parcel in shipment.tracking) and not delivered:
        lines.append(book.say("tracking_missing"))
        d.note("note_tracking_missing")
    late = False
    if shipment.delivered_at is not None:
        lines.append(book.say("delivered_on", when=d.when(shipment.delivered_at)))
    elif delivered:
        pass  # the status line already says so
    elif shipment.estimated_delivery_at is not None:
        if d.day(shipment.estimated_delivery_at) < d.today:
            late = True
            lines.append(book.say("eta_late", when=d.when(shipment.estimated_delivery_at)))
            d.note("note_late")
        else:
            lines.append(book.say("eta", when=d.when(shipment.estimated_delivery_at)))
            d.awaiting_delivery = True
    else:
        lines.append(book.say("eta_missing"))
        d.note("note_eta_missing")
    if shipment.delivery_status in PROBLEM_STATUSES and not late:
        d.note("note_delivery_problem")
    if d.asked("replacement") and not delivered and (late or shipment.delivery_status in PROBLEM_STATUSES):
        d.note("note_replacement")
    d.delivered = d.delivered or delivered
    return lines


def _refund_lines(d: Draft, order: OrderDetails) -> list[str]:
    book = d.book
    lines = [book.say("return_line", name=r.name, status=book.word("return_status", r.status)) for r in order.returns]
    for refund in order.refunds:
        if refund.created_at is not None:
            when = d.when(refund.created_at)
            lines.append(book.say("refund", amount=book.money(refund.amount), when=when))
        else:
            lines.append(book.say("refund_no_date", amount=book.money(refund.amount)))
    if order.refunds:
        return lines
    asked = d.asked("refund_status")  # a return, an exchange or a wrong item is not a question about a refund
    if order.financial_status == "VOIDED" and (asked or order.state == "cancelled"):
        lines.append(book.say("payment_voided", number=order.order_number))
    elif any(r.status in ("REQUESTED", "OPEN") for r in order.returns):
        lines.append(book.say("refund_after_return", number=order.order_number))
    elif asked:
        lines.append(book.say("no_refund", number=order.order_number))
        d.note("note_refund_check")
    return lines


def _billing_lines(d: Draft, order: OrderDetails) -> list[str]:
    """What a payment question needs: the problem the customer states, answered from the order's payment state."""
    book = d.book
    number, amount = order.order_number, book.money(order.totals.total)
    status = book.word("financial", order.financial_status or "unknown")
    lines: list[str] = []
    if d.asked("double_charge"):
        lines.append(book.say("payment_record", number=number, amount=amount, status=status))
        d.note("note_double_charge")
    if order.financial_status == "PENDING" or order.state == "awaiting_payment":
        lines.append(book.say("payment_pending", number=number, amount=amount))
        if order.state == "awaiting_payment":
            lines.append(book.say("waiting_for_payment", number=number))
        d.note("note_payment_pending")
    elif d.asked("payment_failed") or order.state == "payment_failed":
        if order.financial_status in ("PAID", "PARTIALLY_PAID", "AUTHORIZED", "PARTIALLY_REFUNDED"):
            lines.append(book.say("payment_received", number=number, amount=amount, status=status))
        else:
            lines.append(book.say("payment_not_received", number=number, status=status))
            d.note("note_payment_failed")
    if d.asked("invoice"):
        lines.append(book.say("invoice", number=number))
    refund_asked = d.asked("refund_status") and not d.asked("double_charge")  # that refund is the second charge
    if refund_asked or order.refunds or order.returns or order.state in CLOSED_STATES:
        lines += _refund_lines(d, order)
    if not lines:
        lines = [book.say("total", amount=amount), book.say("payment_status", number=number, status=status)]
        d.note("note_billing")
    return lines


def _state(d: Draft, order: OrderDetails) -> str:
    """The order's state in words; 'out for delivery today' only when the carrier's estimate is today (in the shop's
    time zone): a parcel due tomorrow is never 'out for delivery today'."""
    if order.state == "out_for_delivery":
        due = [s.estimated_delivery_at for s in order.shipments if s.delivery_status == "OUT_FOR_DELIVERY"]
        if due and all(eta is not None and d.day(eta) == d.today for eta in due):
            return d.book.word("state", "out_for_delivery_today")
    return d.book.word("state", order.state)


def _order_lines(d: Draft, order: OrderDetails) -> list[str]:
    book, category = d.book, d.category
    state = _state(d, order)
    placed = d.when(order.processed_at)
    lines = [book.say("order_state", number=order.order_number, placed=placed, state=state)]
    if category == "PaymentBilling":
        return [*lines, *_billing_lines(d, order), "", book.say("status_page", url=order.status_page_url)]
    if category in ("OrderPlacementStatus", "ReturnsCancellationsExchanges"):
        items = [f"- {_item(i.current_quantity, i.title, i.variant)}" for i in order.items if i.current_quantity > 0]
        if items:
            lines += [book.say("items_header"), *items]
        lines.append(book.say("total", amount=book.money(order.totals.total)))
    for shipment in order.shipments:
        shipment_lines = _shipment_lines(d, shipment)
        lines += ["", *shipment_lines] if shipment_lines else []
    waiting = [_item(i.unfulfilled_quantity, i.title, i.variant) for i in order.items if i.unfulfilled_quantity > 0]
    if waiting and order.state not in CLOSED_STATES:
        shipped = any(s.status not in DEAD_SHIPMENTS for s in order.shipments)
        if shipped:
            lines += ["", book.say("not_shipped", items="; ".join(waiting))]
            d.note("note_remaining_items")
        elif order.state == "on_hold" and not d.asked("address_change"):
            d.note("note_on_hold")
        elif order.state in ("awaiting_payment", "payment_failed"):
            lines.append(book.say("waiting_for_payment", number=order.order_number))
        else:
            lines.append(book.say("not_shipped_yet", number=order.order_number))
    relevant = order.refunds or order.returns or order.state in CLOSED_STATES or d.asked("refund_status")
    if relevant or category == "ReturnsCancellationsExchanges":
        refunds = _refund_lines(d, order)
        lines += ["", *refunds] if refunds else []
    return [*lines, "", book.say("status_page", url=order.status_page_url)]


def _recent_orders_lines(d: Draft, orders: CustomerOrders) -> list[str]:
    book = d.book
    if not orders.orders:
        return [book.say("no_orders")]
    lines = [book.say("recent_orders")]
    for summary in orders.orders:
        state, total = book.word("state", summary.state), book.money(summary.total)
        placed = d.when(summary.processed_at)
        lines.append(book.say("order_summary", number=summary.order_number, placed=placed, state=state, total=total))
        for parcel in summary.tracking if d.category in ("ShippingDelivery", "OrderPlacementStatus") else []:
            if parcel.number and parcel.url:
                carrier = parcel.carrier or book.say("carrier_unknown")
                lines.append("  " + book.say("tracking", carrier=carrier, number=parcel.number, url=parcel.url))
        lines.append("  " + book.say("status_page", url=summary.status_page_url))
    return lines


def _other_orders_line(d: Draft, orders: CustomerOrders, shown: set[str]) -> list[str]:
    others = [o for o in orders.orders if o.order_number not in shown]
    if not others:
        return []
    listed = ", ".join(f"{o.order_number} ({d.book.word('state', o.state)})" for o in others)
    return [d.book.say("other_orders", orders=listed)]


def order_sections(d: Draft) -> list[list[str]]:
    facts, book = d.facts, d.book
    missing = [book.say("order_not_found", number=n) for n in filter(None, map(_order_number, facts.missing_orders))]
    sections = [[*missing, book.say("check_number")]] if missing else []
    sections += [_order_lines(d, order) for order in facts.orders]
    if facts.orders and facts.recent_orders is not None:
        other = _other_orders_line(d, facts.recent_orders, {o.order_number for o in facts.orders})
        sections += [other] if other else []
    elif facts.recent_orders is not None and (facts.recent_orders.orders or not facts.policies):
        sections.append(_recent_orders_lines(d, facts.recent_orders))
    return sections
