from django import template

from relaysettings.validators import unicode_domain

register = template.Library()
register.filter("unicode_domain", unicode_domain)
