from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect

from core.decorators import owner_required
from smtpusers.selectors import smtp_user_for


@login_required
@owner_required
def usage(request, smtp_user_name):
    """The old usage page: usage now lives on the SMTP user's own page (one place to look)."""
    smtp_user = smtp_user_for(request.owner, smtp_user_name)
    return redirect("smtpusers:detail", smtp_user_name=smtp_user.smtp_user_name)
