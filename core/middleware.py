"""Middleware of the shared kernel."""

from core.api import serves_api


class ApiRedirectsKeepMethodMiddleware:
    """An API call's permanent redirect (SecurityMiddleware's to HTTPS) is a 308, not a 301:
    clients follow a 301 with a GET and drop the body, so a POST would arrive as a bare GET."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code == 301 and serves_api(request.path_info):
            response.status_code = 308
        return response
