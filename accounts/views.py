from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from accounts.decorators import owner_required


@login_required
@owner_required
def home(request):
    return render(request, "accounts/home.html", {"owner": request.owner})
