from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_GET

from audit.selectors import audit_events_for
from core.decorators import owner_required

PAGE_SIZE = 50
# The filter choices: an action prefix and its label.
KINDS = {
    "smtp_user.": "SMTP users",
    "api_token.": "API tokens",
    "relay_setting.": "Domains",
    "alerts.": "Quota alerts",
}


@login_required
@owner_required
@require_GET
def activity(request):
    kind = request.GET.get("kind", "")
    events = audit_events_for(request.owner, action_prefix=kind if kind in KINDS else None)
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "audit/activity.html", {"page_obj": page, "kinds": KINDS, "kind": kind})
