"""E-mail through an SMTP server (the standard library's smtplib): off unless configured."""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from vault_bridge.config import Settings

log = logging.getLogger(__name__)

TIMEOUT = 10.0


class Mailer:
    """Sends plain-text messages with the SMTP settings (``VAULT_BRIDGE_SMTP_*``)."""

    def __init__(self, settings: Settings) -> None:
        self.host = settings.smtp_host
        self.port = settings.smtp_port
        self.security = settings.smtp_security
        self.user = settings.smtp_user
        self._password = settings.smtp_password
        self.sender = settings.smtp_from
        self.ca_file = settings.smtp_ca_file or None
        self.sent = 0  # messages handed to the server (tests and metrics)

    def __repr__(self) -> str:
        return f"Mailer(host={self.host!r}, port={self.port}, security={self.security!r})"

    @property
    def enabled(self) -> bool:
        """True when an SMTP server is configured."""
        return bool(self.host)

    def send(self, to: str, subject: str, body: str) -> None:
        """Send one message; raises OSError or smtplib.SMTPException when it cannot."""
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        message.set_content(body)
        context = ssl.create_default_context(cafile=self.ca_file)
        server: smtplib.SMTP
        if self.security == "ssl":
            server = smtplib.SMTP_SSL(self.host, self.port, timeout=TIMEOUT, context=context)
        else:
            server = smtplib.SMTP(self.host, self.port, timeout=TIMEOUT)
        with server:
            if self.security == "starttls":
                server.starttls(context=context)
            if self.user:
                server.login(self.user, self._password)
            server.send_message(message)
        self.sent += 1
