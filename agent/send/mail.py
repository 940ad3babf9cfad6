"""E-mail to staff through the site's SMTP server (aiosmtplib): one message, one answer.

`send_mail` returns a `Delivery`: `ok`, or not with a `reason` a technician can act
on ("SMTP login refused: wrong username or password (535 ...)") and `retry` telling
whether trying again later may work (a refused login or a refused address will not).
It raises nothing but CancelledError. The password never appears in a reason.
aiosmtplib is imported by the first e-mail: a site without `smtp:` never loads it.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from email.message import EmailMessage

from agent.config.staff import SmtpConfig


@dataclass(frozen=True, slots=True)
class Delivery:
    ok: bool
    reason: str = ""
    retry: bool = False


def message(
    config: SmtpConfig, to: list[str], subject: str, text: str, html: str | None = None
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = config.from_address
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    return msg


async def send_mail(config: SmtpConfig, msg: EmailMessage) -> Delivery:
    import aiosmtplib

    secret = config.secret()
    context = ssl.create_default_context(cafile=str(config.ca_file) if config.ca_file else None)
    try:
        await aiosmtplib.send(
            msg,
            hostname=config.host,
            port=config.port,
            username=config.username,
            password=secret.get_secret_value() if secret else None,
            use_tls=config.security == "tls",
            start_tls=config.security == "starttls",
            tls_context=context,
            timeout=config.timeout_seconds,
        )
    except aiosmtplib.SMTPAuthenticationError as err:
        return Delivery(
            False, f"SMTP login refused: wrong username or password ({err.code} {_text(err)})"
        )
    except aiosmtplib.SMTPRecipientsRefused as err:
        refused = "; ".join(f"{r.recipient}: {r.code}" for r in err.recipients)
        return Delivery(False, f"SMTP server refused the address(es): {refused}")
    except aiosmtplib.SMTPResponseException as err:
        return Delivery(
            False, f"SMTP server answered {err.code} {_text(err)}", retry=400 <= err.code < 500
        )
    except aiosmtplib.SMTPTimeoutError:
        return Delivery(
            False, f"SMTP server {config.host}:{config.port} did not answer in time", retry=True
        )
    except aiosmtplib.SMTPConnectError as err:
        return Delivery(
            False,
            f"cannot connect to SMTP server {config.host}:{config.port}: {_text(err)}",
            retry=True,
        )
    except aiosmtplib.SMTPException as err:
        return Delivery(False, f"SMTP failed: {_text(err)}", retry=True)
    except (OSError, ssl.SSLError) as err:
        return Delivery(
            False, f"cannot reach SMTP server {config.host}:{config.port}: {err}", retry=True
        )
    return Delivery(True)


def _text(err: Exception) -> str:
    message = getattr(err, "message", None) or str(err)
    return " ".join(str(message).split())[:200]
