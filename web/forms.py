"""Forms for the commands of the catalogue: a posted form validated into its command class, and
a command's fields as a page shows them (widget, label, value, choices).

Both read the command's own fields (`tracker.commands`), so a form asks exactly what the command
takes. A value is filled in from what the record already knows (its `prefill`: the current title,
the responsible party, today's date) or, when a refused form comes back, from what was typed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any
from uuid import uuid4

from markupsafe import Markup
from starlette.datastructures import FormData

from tracker.commands import Command, FormField

CHECKED = ("on", "true", "1")


def command_from_form(cls: type[Command], form: FormData) -> Any:
    """The posted form as a `cls` command; InvalidInput names the first field at fault. An empty
    text field is absent; a checkbox not sent is unchecked; other posted names are ignored."""
    data: dict[str, Any] = {}
    for spec in cls.fields():
        name = spec.name
        if spec.kind == "checkbox":
            data[name] = form.get(name) in CHECKED
        elif spec.kind == "parties":
            data[name] = [v for v in form.getlist(name) if isinstance(v, str) and v.strip()]
        elif spec.kind == "attendance":
            prefix = f"{name}-"
            data[name] = {key[len(prefix):]: value.strip() for key, value in form.multi_items()
                          if key.startswith(prefix) and isinstance(value, str) and value.strip()}
        else:
            value = form.get(name)
            if isinstance(value, str) and value.strip():
                data[name] = value.strip()
    return cls.parse(data)


def typed_values(form: FormData) -> dict[str, Any]:
    """Everything the person typed, to put back into the form when it is refused (a name sent
    several times, such as checked parties, as a list)."""
    typed: dict[str, Any] = {}
    for key, value in form.multi_items():
        if not isinstance(value, str) or key == "csrf_token":
            continue
        if key in typed:
            previous = typed[key]
            typed[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            typed[key] = value
    return typed


@dataclass(frozen=True)
class Shown:
    """One field as the page shows it: `value` is text, a list of values (parties) or a bool
    (checkbox); `choices` are (value, label) pairs, labels to translate when `translated`."""

    name: str
    kind: str
    label: str
    required: bool
    value: Any
    choices: Sequence[tuple[str, str]] = ()
    translated: bool = False
    minimum: int | None = None
    maximum: int | None = None


@dataclass(frozen=True)
class ActionForm:
    """A command's form on a page: where it posts, its fields, and whether it opens by itself."""

    command: type[Command]
    url: str
    prefix: str
    fields: list[Shown]
    more: list[Shown]
    hidden: list[Shown]
    errors: Mapping[str, str] = field(default_factory=dict)
    is_open: bool = False
    # Sent with the form (`idempotency_key`): the same form sent twice (a double tap, a resend
    # on a slow link) is given once (web/idempotency.py).
    key: str = field(default_factory=lambda: uuid4().hex)

    @property
    def one_tap(self) -> bool:
        """Nothing to fill in: the button alone sends it (date and note stay optional)."""
        return not self.fields


# A form drawn once and shown again (`keyless`, then `with_fresh_keys` each time it is shown)
# carries this in place of its idempotency key: every showing gets keys of its own. Control
# characters are refused in every text field, so no text typed into a record can hold it.
KEY_SLOT = "\x1eidempotency-key\x1e"


def keyless(form: ActionForm | None) -> ActionForm | None:
    """The form with KEY_SLOT for its key, to be drawn once and shown with fresh keys."""
    return None if form is None else replace(form, key=KEY_SLOT)


def with_fresh_keys(html: str) -> Markup:
    """Drawn forms (HTML, already escaped) with a new idempotency key in each KEY_SLOT."""
    *pieces, last = str(html).split(KEY_SLOT)
    return Markup("".join(piece + uuid4().hex for piece in pieces) + last)  # noqa: S704


def _prefilled(spec: FormField, record: Mapping[str, Any], today: date) -> Any:
    for source in spec.prefill:
        if source == "today":
            return today.isoformat()
        negate = source.startswith("!")
        value = record.get(source.lstrip("!"))
        if negate:
            return not value
        if value not in (None, ""):
            return value.isoformat() if isinstance(value, date) else value
    return None


def _value(spec: FormField, cls: type[Command], typed: Mapping[str, Any] | None,
           record: Mapping[str, Any], today: date, default: Any) -> Any:
    if typed and spec.kind != "hidden":  # a refused form: what was typed, a checkbox as sent
        value = typed.get(spec.name)
        if spec.kind == "checkbox":
            return value in CHECKED
        if spec.kind == "parties":
            return value if isinstance(value, list) else [value] if value else []
        if spec.kind == "attendance":
            prefix = f"{spec.name}-"
            return {k[len(prefix):]: v for k, v in typed.items() if k.startswith(prefix)}
        return value if value is not None else ""
    if default is not None:
        return default
    value = _prefilled(spec, record, today)
    if value is None and spec.kind == "checkbox":
        return bool(cls.model_fields[spec.name].default)
    if value is None:
        return [] if spec.kind == "parties" else {} if spec.kind == "attendance" else ""
    return value


def action_form(cls: type[Command], url: str, *, prefix: str,
                choices: Mapping[str, Sequence[tuple[str, str]]],
                record: Mapping[str, Any] | None = None, today: date,
                acting_parties: Sequence[tuple[str, str]] | None = None,
                defaults: Mapping[str, Any] | None = None,
                typed: Mapping[str, Any] | None = None,
                errors: Mapping[str, str] | None = None, is_open: bool = False) -> ActionForm:
    """The form of `cls`. `choices`: (value, label) pairs per kind of field (party, milestone,
    case, commitment ...). `acting_parties`: for an administrator, the parties it may act for
    (the command's party field then asks which, preselected when there is one); None for a
    member, whose own party it is, so that field is not asked. `defaults`: values by field name
    that the record does not hold (the member's own party among those that must endorse)."""
    record = record or {}
    shown: dict[str, list[Shown]] = {"fields": [], "more": [], "hidden": []}
    for spec in cls.fields():
        options: Sequence[tuple[str, str]] = choices.get(spec.kind, ())
        default = (defaults or {}).get(spec.name)
        if spec.name == cls.party_field:
            if acting_parties is None:
                continue
            options = acting_parties
            default = acting_parties[0][0] if len(acting_parties) == 1 else default
        if spec.kind == "choice":
            options = choices.get(spec.name) or [(value, value) for value in spec.choices]
        item = Shown(name=spec.name, kind=spec.kind, label=spec.label,
                     required=spec.required or spec.name == cls.party_field,
                     value=_value(spec, cls, typed, record, today, default),
                     choices=options, translated=spec.kind == "choice",
                     minimum=spec.minimum, maximum=spec.maximum)
        place = "hidden" if spec.kind == "hidden" else "more" if spec.more else "fields"
        shown[place].append(item)
    return ActionForm(command=cls, url=url, prefix=prefix, errors=errors or {},
                      is_open=is_open, **shown)
