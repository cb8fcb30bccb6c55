"""Payment behaviour summed in the database (one row per debtor) gives exactly what the same rules give
over every paid invoice read into memory."""

from datetime import date, timedelta

import pandas as pd

from db import analytics_queries as q
from db.models import Invoice
from db.uow import UnitOfWork
from receivables.domain import metrics
from receivables.services import analytics, ledger
from receivables.services import demo as demo_service

TODAY = date(2026, 6, 30)


def test_behaviour_summed_in_the_database_equals_the_rules_over_every_paid_invoice(engine):
    with UnitOfWork(engine) as u:
        demo_service.load_demo(u, seed=7, anchor=TODAY)
    with UnitOfWork(engine) as u:  # a written-off invoice is not a payment
        inv = u.session.query(Invoice).filter(Invoice.open_cents > 0).first()
        ledger.apply_change(u.session, inv, TODAY - timedelta(days=3), "write_off", -inv.open_cents)
        u.commit()
    for as_of in (TODAY, TODAY - timedelta(days=200)):
        with UnitOfWork(engine) as u:
            s = u.session
            in_memory = metrics.payment_behaviour(q.paid_invoices(s, metrics.months_back(as_of, 12), as_of), as_of, 12,
                                                  debtors=q.debtors(s))
            summed = analytics.behaviour(u, as_of, 12).drop(columns=["name"])
        assert (summed["invoices_paid"] > 0).sum() > 5
        pd.testing.assert_frame_equal(summed.reset_index(drop=True), in_memory.reset_index(drop=True), check_exact=True)
