"""The messages the app sends, rendered from templates kept next to this module.

Each message has three files under `templates/`: `<name>.subject`, `<name>.txt` and `<name>.html`,
in `string.Template` syntax (`$link`). Values are escaped for the HTML body only; a template
names the product itself, so that a message never depends on a setting to say who sent it.
"""

import html
from datetime import timedelta
from functools import cache
from importlib import resources
from string import Template
from urllib.parse import urlencode

from lunchtogether.schemas.email import EmailMessage

_TEMPLATES = resources.files(__package__) / "templates"


@cache
def _template(name: str, part: str) -> Template:
    """Read once per process: templates are part of the package, not of the configuration."""
    return Template((_TEMPLATES / f"{name}.{part}").read_text(encoding="utf-8"))


def render(name: str, *, recipient: str, **values: str) -> EmailMessage:
    """The message `name` to `recipient`; `values` fill the templates, `$recipient` included."""
    values = {"recipient": recipient, **values}
    escaped = {key: html.escape(value) for key, value in values.items()}
    return EmailMessage(
        recipient=recipient,
        subject=_template(name, "subject").substitute(values).strip(),
        text_body=_template(name, "txt").substitute(values),
        html_body=_template(name, "html").substitute(escaped),
    )


def duration(span: timedelta) -> str:
    """`48 hours`, `1 hour`, `90 minutes`: how long a link lasts, in the largest whole unit."""
    seconds = round(span.total_seconds())
    count, unit = seconds, "second"
    for name, size in (("hour", 3600), ("minute", 60)):
        if seconds and seconds % size == 0:
            count, unit = seconds // size, name
            break
    return f"{count} {unit}{'' if count == 1 else 's'}"


class AccountEmails:
    """The account messages, with links into the frontend at `frontend_url`."""

    def __init__(self, *, frontend_url: str) -> None:
        self._frontend_url = frontend_url.rstrip("/")

    def verify_email(self, recipient: str, *, token: str, expires_in: timedelta) -> EmailMessage:
        link = self._link("verify-email", token)
        return render("verify_email", recipient=recipient, link=link, ttl=duration(expires_in))

    def email_changed(self, recipient: str, *, new_email: str) -> EmailMessage:
        """To the old address: no link, since whoever reads it may no longer own the account."""
        return render("email_changed", recipient=recipient, new_email=new_email)

    def reset_password(self, recipient: str, *, token: str, expires_in: timedelta) -> EmailMessage:
        link = self._link("reset-password", token)
        return render("reset_password", recipient=recipient, link=link, ttl=duration(expires_in))

    def password_was_reset(self, recipient: str) -> EmailMessage:
        return render("password_was_reset", recipient=recipient)

    def _link(self, path: str, token: str) -> str:
        return f"{self._frontend_url}/{path}?{urlencode({'token': token})}"
