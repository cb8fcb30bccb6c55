"""The team mailbox against a real IMAP server (dovecot), read with emails.imap and understood with
receivables.domain.replies."""

from datetime import date

import pytest

from emails.imap import ImapConfigError, ImapError, ImapMailbox, ImapSettings, check, settings_from
from receivables.domain.replies import LinkKind, ReplyKind, link_reply, parse_reply
from tests import reply_samples as samples
from tests.integration.imap_server import run_dovecot

TODAY = date(2026, 12, 4)


@pytest.fixture(scope="module")
def dovecot():
    yield from run_dovecot()


@pytest.fixture
def account(dovecot):
    return dovecot.new_account()


def settings(account, **overrides) -> ImapSettings:
    return ImapSettings.from_mapping(account.settings(**overrides))


class Store:
    """What a caller keeps: handled messages by key (Message-ID and UIDVALIDITY)."""

    def __init__(self):
        self.handled: dict[str, bytes] = {}

    def fetch(self, mailbox_settings: ImapSettings, stop_after: int | None = None) -> int:
        """Handle new messages, moving each once stored; with stop_after, break off after that many
        without moving the last one, as a crash between storing and moving would."""
        stored = 0
        with ImapMailbox(mailbox_settings) as mailbox:
            for message in mailbox.fetch_new():
                if message.key not in self.handled:
                    self.handled[message.key] = message.raw
                    stored += 1
                if stop_after is not None and stored == stop_after:
                    return stored
                mailbox.mark_processed(message.uid)
        return stored


def test_replies_auto_replies_and_bounces_are_fetched_and_understood(account):
    for raw in (samples.reply(), samples.html_only_reply(), samples.out_of_office_nl(), samples.rfc3464_bounce()):
        account.deliver(raw)
    with ImapMailbox(settings(account)) as mailbox:
        fetched = list(mailbox.fetch_new())
    assert [m.uid for m in fetched] == ["1", "2", "3", "4"]
    assert len({m.uidvalidity for m in fetched}) == 1 and fetched[0].uidvalidity > 0
    replies = [parse_reply(m.raw, today=TODAY) for m in fetched]
    assert [r.kind for r in replies] == [ReplyKind.REPLY, ReplyKind.REPLY, ReplyKind.AUTO_REPLY, ReplyKind.BOUNCE]
    assert replies[0].text == "Beste,\n\nWij hebben gisteren betaald."
    assert "Deze factuur klopt niet." in replies[1].text and "<" not in replies[1].text
    assert replies[2].return_date == date(2027, 1, 5)
    assert (replies[3].bounce.recipient, replies[3].bounce.status) == ("oud@klant.example", "5.1.1")
    assert [link_reply(r, {samples.SENT_ID: 42}, {}).kind for r in replies] == [LinkKind.THREAD] * 4


def test_the_raw_message_is_handed_over_byte_for_byte(account):
    raw = samples.reply_with_attachment()
    account.deliver(raw)
    with ImapMailbox(settings(account)) as mailbox:
        (message,) = mailbox.fetch_new()
    assert message.raw.replace(b"\r\n", b"\n") == raw.replace(b"\r\n", b"\n")
    assert message.message_id == "att@klant.example"
    (attachment,) = parse_reply(message.raw, today=TODAY).attachments
    assert attachment.name == "betaalbewijs.pdf" and attachment.size == 2048


def test_processed_messages_move_to_a_processed_folder_that_is_created_on_first_use(account):
    account.deliver(samples.reply(message_id="a@klant.example"))
    account.deliver(samples.reply(message_id="b@klant.example"))
    assert account.folder_uids("Processed") is None
    store = Store()
    assert store.fetch(settings(account)) == 2
    assert account.folder_uids("INBOX") == []
    assert len(account.folder_uids("Processed")) == 2
    assert store.fetch(settings(account)) == 0  # nothing is read twice


def test_an_interrupted_fetch_resumes_without_duplicates(account):
    for n in range(3):
        account.deliver(samples.reply(message_id=f"m{n}@klant.example"))
    store = Store()
    assert store.fetch(settings(account), stop_after=1) == 1
    assert account.folder_uids("INBOX") == ["1", "2", "3"]  # stored but not moved: the crash
    assert store.fetch(settings(account)) == 2
    assert sorted(parse_reply(raw, today=TODAY).message_id for raw in store.handled.values()) == [
        "m0@klant.example", "m1@klant.example", "m2@klant.example"]
    assert account.folder_uids("INBOX") == []
    assert len(account.folder_uids("Processed")) == 3


def test_processing_leaves_a_message_a_person_deleted_in_place(account):
    account.deliver(samples.reply(message_id="keep@klant.example"))
    account.deliver(samples.reply(message_id="binned@klant.example"))
    account.flag_deleted("2")
    store = Store()
    assert store.fetch(settings(account)) == 1
    assert [parse_reply(raw, today=TODAY).message_id for raw in store.handled.values()] == ["keep@klant.example"]
    assert account.folder_uids("INBOX") == ["2"]  # moved one by one, never expunged with the rest
    assert account.folder_uids("Processed") == ["1"]


def test_fetching_does_not_mark_messages_read_for_the_people_sharing_the_mailbox(account):
    account.deliver(samples.reply())
    with ImapMailbox(settings(account)) as mailbox:
        list(mailbox.fetch_new())
        status = mailbox._require().folder.status("INBOX", ["UNSEEN"])
    assert status["UNSEEN"] == 1


def test_a_message_delivered_twice_has_one_key(account):
    account.deliver(samples.reply(message_id="same@klant.example"))
    with ImapMailbox(settings(account)) as mailbox:
        (first,) = mailbox.fetch_new()
    account.deliver(samples.reply(message_id="same@klant.example"))
    with ImapMailbox(settings(account)) as mailbox:
        fetched = list(mailbox.fetch_new())
    assert [m.uid for m in fetched] == ["1", "2"]
    assert {m.key for m in fetched} == {first.key}
    assert first.key == f"{first.uidvalidity}:same@klant.example"


def test_check_says_the_settings_work(account):
    account.deliver(samples.reply())
    result = check(settings(account))
    assert result.ok, result.message
    assert "1 message(s) waiting in 'INBOX'" in result.message
    assert "processed folder 'Processed' will be created on the first fetch" in result.message


def test_check_with_a_wrong_password_says_so_in_words(account):
    result = check(settings(account, password="wrong"))
    assert not result.ok
    assert result.message == (f"the server refused user {account.user!r}: wrong user name or password "
                              "(check the IMAP user and password)")


def test_check_names_a_folder_that_does_not_exist(account):
    result = check(settings(account, folder="Debiteuren"))
    assert not result.ok
    assert result.message == "folder 'Debiteuren' does not exist on 127.0.0.1; check the IMAP folder setting"


def test_check_says_when_nothing_listens_on_the_port(account):
    result = check(settings(account, port=1))
    assert not result.ok
    assert "refused the connection" in result.message and "check the IMAP port" in result.message


def test_a_wrong_password_on_fetch_raises_the_same_words(account):
    with pytest.raises(ImapError, match="wrong user name or password"):
        with ImapMailbox(settings(account, password="wrong")):
            pass


@pytest.mark.parametrize(
    "values, message",
    [
        ({"host": "imap.example"}, "IMAP settings incomplete: set user (IMAP_USER), password (IMAP_PASSWORD)"),
        ({"host": "h", "user": "u", "password": "p", "security": "tls"}, "IMAP security 'tls' is not one of"),
        ({"host": "h", "user": "u", "password": "p", "port": "imap"}, "IMAP port 'imap' is not a number"),
        ({"host": "h", "user": "u", "password": "p", "port": 70000}, "IMAP port 70000 is out of range"),
        ({"host": "h", "user": "u", "password": "p", "processed_folder": "INBOX"},
         "IMAP folder and processed folder are both 'INBOX'"),
        ({"host": "h", "user": "u", "password": "p", "timeout": "0"}, "IMAP timeout must be a positive"),
    ],
)
def test_bad_settings_are_refused_with_what_to_fix(values, message):
    with pytest.raises(ImapConfigError) as caught:
        ImapSettings.from_mapping(values)
    assert str(caught.value).startswith(message)


def test_environment_variables_override_secrets_and_ports_follow_security():
    chosen = settings_from({"IMAP_PASSWORD": "from-env", "IMAP_SECURITY": "starttls"},
                           {"host": "imap.example", "user": "debiteuren", "password": "from-secrets"})
    assert (chosen.password, chosen.security, chosen.port) == ("from-env", "starttls", 143)
    assert settings_from({}, {"host": "h", "user": "u", "password": "p"}).port == 993
