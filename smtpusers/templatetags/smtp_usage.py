from django import template

register = template.Library()


@register.filter
def used_in_hour_of(smtp_user, moment):
    """{{ smtp_user|used_in_hour_of:now }}: messages counted in the clock hour holding `moment`."""
    return smtp_user.used_in_hour_of(moment)
