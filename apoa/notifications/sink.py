"""A local SMTP server that keeps every mail it receives as a file, for `make run` and the tests:

    python -m apoa.notifications.sink --host 127.0.0.1 --port 2525 --maildir instance/mail

Each message is stored in DIR/new/ as one file (a Maildir, readable with Python's `mailbox` or
any mail client); nothing is ever relayed. With `--login USER:PASSWORD` it accepts AUTH with
exactly those credentials (without TLS: it is for this machine only); without, any client may
send. SIGTERM or Ctrl-C stops it.
"""
import argparse
import asyncio
import logging
import mailbox
import signal
import warnings
from pathlib import Path

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

log = logging.getLogger("apoa.notifications.sink")


class MaildirHandler:
    """aiosmtpd's handler: every message accepted goes to the Maildir, as received."""

    def __init__(self, maildir):
        for part in ("tmp", "new", "cur"):
            (Path(maildir) / part).mkdir(parents=True, exist_ok=True)
        self.maildir = mailbox.Maildir(maildir, create=False)

    async def handle_DATA(self, server, session, envelope):
        key = self.maildir.add(envelope.original_content or envelope.content)
        log.info("mail %s for %d recipient(s) stored", key, len(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


class OneLogin:
    """Accepts exactly one user name and password."""

    def __init__(self, login):
        user, _colon, password = login.partition(":")
        self.expected = (user.encode(), password.encode())

    def __call__(self, server, session, envelope, mechanism, auth_data):
        given = ((auth_data.login, auth_data.password) if isinstance(auth_data, LoginPassword)
                 else None)
        return AuthResult(success=given == self.expected, handled=False)


def make_session(handler, login=None):
    """The SMTP protocol for one connection."""
    if not login:
        return SMTP(handler)
    with warnings.catch_warnings():
        # AUTH without TLS, on purpose: the sink serves this machine only.
        warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")
        return SMTP(handler, authenticator=OneLogin(login), auth_required=True,
                    auth_require_tls=False)


async def serve(host, port, maildir, login=None):
    loop = asyncio.get_running_loop()
    handler = MaildirHandler(maildir)
    server = await loop.create_server(lambda: make_session(handler, login), host, port)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    log.info("SMTP sink listening on %s:%s, mail kept in %s", host, port, maildir)
    async with server:
        await stop.wait()
    log.info("SMTP sink stopped")


def main(argv=None):
    parser = argparse.ArgumentParser(description="A local SMTP server keeping each mail as a file.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=2525)
    parser.add_argument("--maildir", required=True, help="folder for the mail (a Maildir)")
    parser.add_argument("--login", help="USER:PASSWORD to require (AUTH without TLS)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(serve(args.host, args.port, args.maildir, args.login))


if __name__ == "__main__":
    main()
