"""`{% once_token %}`: the hidden one-time token every changing form carries (core.once)."""

from django import template
from django.utils.html import format_html

from core.once import FORM_TOKEN_FIELD, new_form_token

register = template.Library()


@register.simple_tag
def once_token():
    return format_html(
        '<input type="hidden" name="{}" value="{}">', FORM_TOKEN_FIELD, new_form_token()
    )
