"""Messages left in doubt when the sender is killed (kill -9) at many points.

    python bench/bench_send_kill.py --kills 30                     # this tree: the next run reconciles first
    python bench/bench_send_kill.py --kills 30 --tree /tmp/old --no-recover   # another checkout, as it was

A local aiosmtpd (in this process) receives; a temporary SQLite database holds 40 approved messages a
kill. Each round starts a real `python -m receivables send` in TREE, waits until the server has 2 to 10
more messages, waits 0 to 4 ms more (0 to 30 ms when the server answers DATA after 30 ms, every third
round) and kills it. Then, as the next run would, the dead run's journal is applied (unless
--no-recover), and the messages newly in `sending` are counted, with how many of them did arrive.
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.dbarg import add_db_argument, bench_database, describe  # noqa: E402
from db.engine import make_engine, upgrade  # noqa: E402
from db.uow import UnitOfWork  # noqa: E402
from receivables.services import sending  # noqa: E402
from tests.integration.test_send_support import Mailbox, seed, smtp_env, start_server, statuses  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kills", type=int, default=30)
    ap.add_argument("--tree", default=str(ROOT), help="the checkout whose sender is killed")
    ap.add_argument("--no-recover", action="store_true", help="count without applying the journal")
    add_db_argument(ap)
    args = ap.parse_args()
    with bench_database(args.db, "bench_send_kill") as url:
        return run(args, url)


def run(args, url: str) -> int:  # noqa: ANN001
    tmp = tempfile.mkdtemp(prefix="bench-kill-")
    env = {**os.environ, "DATABASE_URL": url, "DEBTOR_DESK_USERS": f"{tmp}/users.yaml",
           "DEBTOR_DESK_SECRETS": f"{tmp}/secrets.toml", "DEBTOR_DESK_JOURNAL": f"{tmp}/journal",
           "DEBTOR_DESK_OUTBOX": f"{tmp}/outbox"}
    os.environ["DEBTOR_DESK_JOURNAL"] = env["DEBTOR_DESK_JOURNAL"]
    engine = make_engine(url)
    upgrade(engine)

    def uow(**kw):
        return UnitOfWork(engine, **kw)

    box = Mailbox()
    controller = start_server(box)
    seed(uow, 40 * args.kills)
    env.update(smtp_env(box.port))
    rng = random.Random(19)
    previous: set[int] = set()
    in_doubt, delivered = [], []
    for k in range(args.kills):
        box.delay = 0.03 if k % 3 == 2 else 0
        target = len(box.messages) + rng.randint(2, 10)
        run = subprocess.Popen([sys.executable, "-m", "receivables", "send"], cwd=args.tree, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        while len(box.messages) < target and run.poll() is None:
            time.sleep(0.0005)
        time.sleep(rng.random() * (0.03 if box.delay else 0.004))
        os.kill(run.pid, signal.SIGKILL)
        run.wait()
        time.sleep(box.delay + 0.05)  # the server finishes what it had
        if not args.no_recover:
            with uow() as u:
                sending.recover(u, actor="bench")
        now = {i for i, s in statuses(uow).items() if s == "sending"}
        new = now - previous
        in_doubt.append(len(new))
        delivered.append(len(new & set(box.ids())))
        previous = now
    controller.stop()
    twice = sum(n - 1 for n in collections.Counter(box.ids()).values())
    print(f"{args.tree}: {args.kills} kills; in doubt after each {in_doubt} (max {max(in_doubt)}, "
          f"total {sum(in_doubt)}), of which delivered {sum(delivered)}; sent twice {twice} ({describe(url)})")
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
