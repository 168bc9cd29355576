"""Which mail system sends, and from which address: [smtp] when configured, else Exchange send_as."""

from __future__ import annotations

from courtsync.config.schema import Config
from courtsync.errors import ConfigError
from courtsync.notices.outbox import Transport


def mail_transport(config: Config, instead: str = "Or write the digests to files with --out DIR.") -> Transport:
    """[smtp] when configured, else Exchange's own sending when [exchange] send_as names a mailbox."""
    if config.smtp is not None:
        from courtsync.notices.smtp import SmtpTransport

        return SmtpTransport(config.smtp)
    if config.exchange is not None and config.exchange.send_as:
        from courtsync.notices.exchange_mail import ExchangeTransport

        return ExchangeTransport(config.exchange)
    raise ConfigError("Sending needs an [smtp] table (host, port, sender, ...) or [exchange] send_as in "
                      "courtsync.toml.", hint=instead)


def sender_address(config: Config) -> str:
    if config.smtp is not None:
        return config.smtp.sender
    assert config.exchange is not None and config.exchange.send_as
    return config.exchange.send_as


def sender_where(config: Config) -> str:
    """Where the From address is set, for an error about it: courtsync.toml:LINE smtp.sender."""
    path, line, key = config.locate(*(("smtp", "sender") if config.smtp is not None else
                                          ("exchange", "send_as")))
    return f"{path}:{line} {key}" if line else f"{path} {key}"
