from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils import timezone

from core.decorators import owner_required
from mailqueue.selectors import queued_messages_for, recent_refusals_for

MESSAGES_PER_PAGE = 50
RECENT_REFUSALS = timedelta(hours=24)


@login_required
@owner_required
def messages(request):
    """The owner's recently submitted messages and what became of them, newest first."""
    page = Paginator(queued_messages_for(request.owner), MESSAGES_PER_PAGE).get_page(
        request.GET.get("page")
    )
    refusals = recent_refusals_for(request.owner, since=timezone.now() - RECENT_REFUSALS)
    return render(request, "mailqueue/messages.html", {"page": page, "refusals": refusals})
