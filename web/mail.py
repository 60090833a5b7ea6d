"""What a notification mail says, in the recipient's language: a subject, plain text and a light
HTML part, from the templates `mail/message.txt` and `mail/message.html` and the catalogues the
pages use. `tracker notify` hands `compose` to the worker (`tracker.mailer.Mailer`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from tracker.mailer import Mail
from tracker.notices import CAUSE_TEXT, Cause
from web import i18n, labels

TEMPLATES = Path(__file__).parent / "templates"


class Composer:
    """`composer(mail)` -> (subject, text, html)."""

    def __init__(self) -> None:
        self.catalogues = i18n.load_catalogues()
        self.env = Environment(loader=FileSystemLoader(TEMPLATES), trim_blocks=True,
                               lstrip_blocks=True,
                               autoescape=select_autoescape(["html"], default_for_string=False))
        i18n.install(self.env)
        self.env.globals["cause_text"] = {str(k): v for k, v in CAUSE_TEXT.items()}

    def subject(self, mail: Mail, translations: Any) -> str:
        _ = translations.gettext
        if mail.kind == "confirm":
            return _("Confirm your subscription: %(dialogue)s") % {"dialogue": mail.dialogue}
        if mail.kind == "digest":
            return _("Your daily digest: %(count)s notices") % {"count": len(mail.items)}
        item = mail.items[0]
        if mail.kind == "public":
            what = _(labels.EVENT_LABELS.get(item.event_type, "changed"))
        else:
            what = _(CAUSE_TEXT.get(Cause(item.cause), "")) if item.cause in set(Cause) else ""
        return f"[{item.dialogue}] {item.title}: {what}"

    def __call__(self, mail: Mail) -> tuple[str, str, str]:
        language = mail.language if mail.language in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE
        translations = i18n.translator(self.catalogues, language)
        context = {"mail": mail, "translations": translations, "locale": language, "lang": language}
        text = self.env.get_template("mail/message.txt").render(context)
        html = self.env.get_template("mail/message.html").render(context)
        return " ".join(self.subject(mail, translations).split()), text, html
