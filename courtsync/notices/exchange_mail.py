"""Sending through Exchange (EWS CreateItem, SendOnly) for agencies without an SMTP relay.

The MIME message is handed over as built, so its Message-ID stays the outbox's. exchangelib is
imported here only, and only when this transport sends.

Exchange is asked something cheap with the sender's credentials (the mailbox's root folder) before the first
message is handed over: a server that cannot be reached, or refuses the login, leaves every message queued
rather than each one in doubt ('unknown', settled by hand one by one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from courtsync.errors import CourtsyncError, DeliveryError, SourceError

_QUEUED = "Nothing more was tried this run: everything stays queued and goes on the next run once that is fixed."


class ExchangeTransport:
    def __init__(self, settings: Any) -> None:
        from courtsync.calendars.ews import EwsSource

        if not settings.send_as:
            raise SourceError("[exchange] send_as is not set: it names the mailbox the emails are sent from.")
        self.settings = settings
        # The calendar source already knows how to build an exchangelib configuration from the settings.
        self._source = EwsSource("exchange", settings, {})
        self._account: Any = None
        self._reached = False   # the root folder was read: Exchange answers, and takes these credentials

    def _mailbox(self) -> Any:
        if self._account is None:
            from exchangelib import DELEGATE, IMPERSONATION, Account

            self._account = Account(primary_smtp_address=self.settings.send_as,
                                    config=self._source._configuration(), autodiscover=False,
                                    access_type=IMPERSONATION if self.settings.access == "impersonation" else DELEGATE)
        return self._account

    def send(self, recipient: str, message: bytes, handing_over: Callable[[], None]) -> None:
        from exchangelib import Mailbox, Message

        handed_over = False
        try:
            account = self._reach()
            handing_over()
            handed_over = True
            Message(account=account, mime_content=message, to_recipients=[Mailbox(email_address=recipient)]) \
                .send(save_copy=False)
        except DeliveryError:   # handing_over(): another run took this message over; it is that run's to send
            raise
        except CourtsyncError as exc:   # a secret not set, send_as missing: nothing can go this run
            raise DeliveryError(exc.message, kind="config", every_message=True, hint=exc.hint) from None
        except Exception as exc:
            error = self._delivery_error(exc, recipient, handed_over)
            if error is None:   # not an answer of Exchange's: a defect, with its traceback
                raise
            raise error from None

    def _delivery_error(self, exc: Exception, recipient: str, handed_over: bool) -> DeliveryError | None:
        """What an exchangelib error means for this message (its kind), or None when it is none of Exchange's."""
        from exchangelib.errors import (
            ErrorAccessDenied,
            ErrorImpersonateUserDenied,
            ErrorImpersonationDenied,
            ErrorImpersonationFailed,
            ErrorInvalidRecipients,
            ErrorInvalidSmtpAddress,
            ErrorMailRecipientNotFound,
            ErrorMessageSizeExceeded,
            ErrorNonExistentMailbox,
            ErrorQuotaExceeded,
            ErrorSendAsDenied,
            ErrorServerBusy,
            ErrorSubmissionQuotaExceeded,
            ErrorTimeoutExpired,
            RateLimitError,
            ResponseMessageError,
            TransportError,
            UnauthorizedError,
        )

        s, name = self.settings, type(exc).__name__
        if isinstance(exc, UnauthorizedError):
            return DeliveryError(f"Exchange refused the credentials of {s.username or 'the app'}.", kind="config",
                                 every_message=True, hint=f"Check ${s.password_env or s.client_secret_env}. {_QUEUED}")
        if isinstance(exc, (ErrorAccessDenied, ErrorSendAsDenied, ErrorImpersonateUserDenied,
                            ErrorImpersonationDenied, ErrorImpersonationFailed, ErrorNonExistentMailbox)):
            return DeliveryError(f"Exchange does not let courtsync send as {s.send_as} ({name}).", kind="config",
                                 every_message=True,
                                 hint=f"Grant the account Send As (or impersonation) on {s.send_as}. {_QUEUED}")
        if isinstance(exc, (ErrorServerBusy, ErrorQuotaExceeded, ErrorSubmissionQuotaExceeded, RateLimitError)):
            return DeliveryError(f"Exchange asked courtsync to slow down ({name}).", kind="transient",
                                 every_message=not (handed_over and isinstance(exc, ErrorServerBusy)),
                                 hint="It stays queued and goes on the next run.")
        if isinstance(exc, (ErrorInvalidRecipients, ErrorMailRecipientNotFound, ErrorInvalidSmtpAddress,
                            ErrorMessageSizeExceeded)):
            return DeliveryError(f"Exchange refused the message to {recipient} ({name}).", kind="recipient",
                                 hint="Not retried: correct the address.")
        if isinstance(exc, ResponseMessageError) and not isinstance(exc, ErrorTimeoutExpired):
            # Exchange answered and did not send (not known to be this recipient's for good): kept, not lost. It
            # is tested before TransportError, which exchangelib makes its parent.
            return DeliveryError(f"Exchange refused {'the message to ' + recipient if handed_over else 'courtsync'} "
                                 f"({name}).", kind="transient", every_message=not handed_over,
                                 hint="It stays queued and goes on the next run.")
        if isinstance(exc, (ErrorTimeoutExpired, TransportError)):
            if not handed_over:   # Exchange was not reached, or did not answer: nothing went, nothing is in doubt
                return DeliveryError(f"Exchange at {self._source.label} cannot be reached ({name}).",
                                     kind="transient", every_message=True,
                                     hint=f"Check [exchange] endpoint and the network. {_QUEUED}")
            how = "broke" if isinstance(exc, ErrorTimeoutExpired) else "failed"
            return DeliveryError(f"The connection to Exchange {how} while sending ({name})", kind="unknown")
        return None

    def _reach(self) -> Any:
        """The account, once Exchange has answered a request made with it (GetFolder of the root folder)."""
        account = self._mailbox()
        if not self._reached:
            _ = account.root
            self._reached = True
        return account

    def close(self) -> None:
        self._account = None
        self._reached = False
