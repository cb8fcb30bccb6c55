"""The data version: every committed write raises it in the database, a read does not, and a second
engine (another app server, the command line) sees the new number as soon as the write is committed."""

from sqlalchemy import text

from db.engine import make_engine
from db.uow import UnitOfWork
from receivables.services import analytics, settings


def version(engine) -> str:
    with UnitOfWork(engine) as u:
        return analytics.data_version(u)


def test_a_committed_write_raises_the_data_version_for_every_server_and_a_read_or_a_rollback_does_not(engine):
    other_server = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        start = version(engine)
        with UnitOfWork(engine) as u:  # a read, even committed
            analytics.earliest_date(u)
            u.commit()
        assert version(other_server) == start
        with UnitOfWork(engine) as u:  # a write rolled back
            settings.put_setting(u.session, "forecast.doubtful_after_days", 90, actor="carla")
            u.rollback()
        assert version(other_server) == start
        with UnitOfWork(engine) as u:
            settings.put_setting(u.session, "forecast.doubtful_after_days", 90, actor="carla")
            assert version(other_server) == start  # not before the commit
            u.commit()
        after_setting = version(other_server)
        assert int(after_setting) == int(start) + 1
        with UnitOfWork(other_server) as u:  # raw SQL counts as well as the ORM
            u.session.execute(text("UPDATE setting SET updated_by = 'dirk' WHERE key = 'forecast.doubtful_after_days'"))
            u.commit()
        assert int(version(engine)) == int(after_setting) + 1
    finally:
        other_server.dispose()
