"""`row.name` in the app's templates answers what jinja2's own lookup answers (web.app
install_dict_lookup takes a dict's key at once instead of trying its attribute first)."""

from __future__ import annotations

from collections import OrderedDict

import pytest
from jinja2 import Environment, StrictUndefined

from web.app import install_dict_lookup

EXPRESSIONS = [
    "{{ d.title }}", "{{ d.missing is defined }}", "{{ d.items is defined }}",
    "{{ d.get('title') }}", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}",
    "{{ d.keys()|list|length }}", "{{ d.nested.deep }}", "{{ d.nested.missing is defined }}",
    "{{ d.none is none }}", "{{ d['title'] }}", "{{ obj.title }}", "{{ obj.upper() }}",
    "{{ d.count }}",
]


class Row(dict):
    """A dict subclass: its own attributes come first, as jinja2 does."""

    title = "the attribute"


@pytest.mark.parametrize("expression", EXPRESSIONS)
@pytest.mark.parametrize("values", [
    {"title": "Lights", "nested": {"deep": 3}, "none": None, "count": 7},
    {"title": "Lights", "items": "a key named like a method", "nested": {}, "none": None},
    OrderedDict(title="ordered", nested={"deep": 1}, none=None, count=1),
    Row(title="the key", nested={"deep": 2}, none=None, count=0),
])
def test_the_app_lookup_answers_what_jinja_answers(expression, values):
    plain, fast = Environment(), Environment()
    install_dict_lookup(fast)
    context = {"d": values, "obj": "text"}
    assert fast.from_string(expression).render(context) == \
        plain.from_string(expression).render(context)


def test_a_missing_key_is_still_undefined_for_a_strict_environment():
    fast = Environment(undefined=StrictUndefined)
    install_dict_lookup(fast)
    with pytest.raises(Exception, match="'dict object' has no attribute 'missing'"):
        fast.from_string("{{ d.missing }}").render(d={"title": "x"})
