from datetime import date, timedelta

from db.models import Note
from receivables.services import analytics, demo, dossier, reminders


def test_generating_reminders_first_marks_promises_past_their_grace_as_broken(uow):
    today = date.today()
    with uow() as u:
        demo.load_demo(u, seed=4, anchor=today)
    with uow() as u:
        per_debtor = analytics.ageing_report(u, today).per_debtor
        overdue = per_debtor[(per_debtor["currency"] == "EUR") & (per_debtor["90+"] > 0)]
        code = overdue.sort_values("90+", ascending=False)["debtor_code"].iloc[0]
        note_id = dossier.promise_to_pay(u, code, today + timedelta(days=1), actor="carla")
        grace = dossier.grace_days(u)
    with uow() as u:
        reminders.generate(u, today + timedelta(days=1 + grace), actor="system")
    with uow() as u:
        assert u.session.get(Note, note_id).outcome in (None, "pending")
    with uow() as u:
        reminders.generate(u, today + timedelta(days=2 + grace), actor="system")
    with uow() as u:
        assert u.session.get(Note, note_id).outcome == "broken"
