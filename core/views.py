from csp.decorators import csp_update
from django.db import DatabaseError, connection
from django.http import HttpResponseServerError, JsonResponse
from django.template import loader
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from drf_spectacular.views import SpectacularSwaggerSplitView


@never_cache
@require_GET
def healthz(request):
    """For load balancers: 200 when the database answers, 503 when it does not."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


# Swagger UI sets inline styles; its script is served as a file, so scripts stay 'self'-only.
api_docs = csp_update({"style-src": ["'unsafe-inline'"]})(
    SpectacularSwaggerSplitView.as_view(url_name="api-schema")
)


def server_error(request):
    """handler500: a static page, rendered with no request context (no session, user or
    messages), so that it shows even when the database is what failed."""
    return HttpResponseServerError(loader.get_template("500.html").render())
