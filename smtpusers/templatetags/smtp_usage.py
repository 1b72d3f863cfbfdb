from django import template

from smtpusers.quota import usage_summary

register = template.Library()


@register.filter
def usage_at(smtp_user, moment):
    """{% with usage=smtp_user|usage_at:now %}: its usage of each window (smtpusers.quota)."""
    return usage_summary(smtp_user, now=moment)
