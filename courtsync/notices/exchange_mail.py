"""Sending through Exchange (EWS CreateItem, SendOnly) for agencies without an SMTP relay.

The MIME message is handed over as built, so its Message-ID stays the outbox's. exchangelib is
imported here only, and only when this transport sends.
"""

from __future__ import annotations

from typing import Any

from courtsync.errors import SourceError
from courtsync.notices.outbox import Attempt


class ExchangeTransport:
    def __init__(self, settings: Any) -> None:
        from courtsync.calendars.ews import EwsSource

        if not settings.send_as:
            raise SourceError("[exchange] send_as is not set: it names the mailbox the emails are sent from.")
        self.settings = settings
        # The calendar source already knows how to build an exchangelib configuration from the settings.
        self._source = EwsSource("exchange", settings, {})
        self._account: Any = None

    def _mailbox(self) -> Any:
        if self._account is None:
            from exchangelib import DELEGATE, IMPERSONATION, Account

            self._account = Account(primary_smtp_address=self.settings.send_as,
                                    config=self._source._configuration(), autodiscover=False,
                                    access_type=IMPERSONATION if self.settings.access == "impersonation" else DELEGATE)
        return self._account

    def send(self, recipient: str, message: bytes) -> Attempt:
        from exchangelib import Mailbox, Message
        from exchangelib.errors import ErrorServerBusy, ResponseMessageError, TransportError, UnauthorizedError

        try:
            account = self._mailbox()
            Message(account=account, mime_content=message, to_recipients=[Mailbox(email_address=recipient)]) \
                .send(save_copy=False)
        except SourceError as exc:
            return Attempt("retry", exc.message)
        except ErrorServerBusy:
            return Attempt("retry", "Exchange asked courtsync to slow down (ErrorServerBusy)")
        except UnauthorizedError:
            return Attempt("retry", f"Exchange refused the credentials of {self.settings.username or 'the app'}; "
                                    f"check ${self.settings.password_env or self.settings.client_secret_env}")
        except ResponseMessageError as exc:
            return Attempt("failed", f"Exchange refused the message ({type(exc).__name__})")
        except TransportError as exc:
            return Attempt("unknown", f"the connection to Exchange failed while sending ({type(exc).__name__}); it "
                                      "may have been sent, so it is not sent again without --resend")
        return Attempt("sent", "")

    def close(self) -> None:
        self._account = None
