"""Sending through Exchange (EWS CreateItem, SendOnly) for agencies without an SMTP relay.

The MIME message is handed over as built, so its Message-ID stays the outbox's. exchangelib is
imported here only, and only when this transport sends.
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

    def _mailbox(self) -> Any:
        if self._account is None:
            from exchangelib import DELEGATE, IMPERSONATION, Account

            self._account = Account(primary_smtp_address=self.settings.send_as,
                                    config=self._source._configuration(), autodiscover=False,
                                    access_type=IMPERSONATION if self.settings.access == "impersonation" else DELEGATE)
        return self._account

    def send(self, recipient: str, message: bytes, handing_over: Callable[[], None]) -> None:
        from exchangelib import Mailbox, Message
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

        s = self.settings
        sender_side = (ErrorAccessDenied, ErrorSendAsDenied, ErrorImpersonateUserDenied, ErrorImpersonationDenied,
                       ErrorImpersonationFailed, ErrorNonExistentMailbox)
        recipient_side = (ErrorInvalidRecipients, ErrorMailRecipientNotFound, ErrorInvalidSmtpAddress,
                          ErrorMessageSizeExceeded)
        try:
            account = self._mailbox()
            handing_over()
            Message(account=account, mime_content=message, to_recipients=[Mailbox(email_address=recipient)]) \
                .send(save_copy=False)
        except CourtsyncError as exc:   # a secret not set, send_as missing: nothing can go this run
            raise DeliveryError(exc.message, kind="config", every_message=True, hint=exc.hint) from None
        except UnauthorizedError:
            raise DeliveryError(f"Exchange refused the credentials of {s.username or 'the app'}.", kind="config",
                                every_message=True, hint=f"Check ${s.password_env or s.client_secret_env}. "
                                                         f"{_QUEUED}") from None
        except sender_side as exc:
            raise DeliveryError(f"Exchange does not let courtsync send as {s.send_as} ({type(exc).__name__}).",
                                kind="config", every_message=True,
                                hint=f"Grant the account Send As (or impersonation) on {s.send_as}. {_QUEUED}") \
                from None
        except (ErrorServerBusy, ErrorQuotaExceeded, ErrorSubmissionQuotaExceeded, RateLimitError) as exc:
            raise DeliveryError(f"Exchange asked courtsync to slow down ({type(exc).__name__}).", kind="transient",
                                every_message=not isinstance(exc, ErrorServerBusy),
                                hint="It stays queued and goes on the next run.") from None
        except recipient_side as exc:
            raise DeliveryError(f"Exchange refused the message to {recipient} ({type(exc).__name__}).",
                                kind="recipient", hint="Not retried: correct the address.") from None
        except ErrorTimeoutExpired as exc:
            raise DeliveryError(f"The connection to Exchange broke while sending ({type(exc).__name__})",
                                kind="unknown") from None
        except ResponseMessageError as exc:   # not known to be this recipient's for good: kept, not lost
            raise DeliveryError(f"Exchange refused the message to {recipient} ({type(exc).__name__}).",
                                kind="transient", hint="It stays queued and goes on the next run.") from None
        except TransportError as exc:
            raise DeliveryError(f"The connection to Exchange failed while sending ({type(exc).__name__})",
                                kind="unknown") from None

    def close(self) -> None:
        self._account = None
