from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone

from accounts.decorators import owner_required
from portal.errors import NotFoundError
from smtpusers.models import hour_start
from smtpusers.selectors import smtp_user_for, usage_chart_for


@login_required
@owner_required
def usage(request, smtp_user_name):
    """One SMTP user's usage: this hour and in total against the limits, and the last 48 hours."""
    try:
        smtp_user = smtp_user_for(request.owner, smtp_user_name)
    except NotFoundError as error:
        raise Http404(error.message) from None
    now = timezone.now()
    return render(
        request,
        "smtpserver/usage.html",
        {
            "smtp_user": smtp_user,
            "hour_used": smtp_user.used_in_hour_of(now),
            "hour_resets_at": hour_start(now) + timedelta(hours=1),
            "usage_chart": usage_chart_for(smtp_user, now=now),
        },
    )
