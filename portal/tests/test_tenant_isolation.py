"""Tenant isolation, URL by URL: owner bob, signed in or holding his API token, aims every URL
of the portal at owner alice's objects, and learns nothing of them and changes nothing.

The URL patterns come from the root URL resolver, so a new URL fails
`test_it_classifies_every_url_pattern` until the table below classifies it and says how to
probe it. Each probe is one request, one test of the matrix (URL pattern x method), and:

- answers with the status (and body) the contract gives for a missing object;
- shows nothing of alice's: no id of hers that bob did not send himself, no secret, limit or
  setting of hers, not even her name;
- leaves every row of alice's (owner, logins, API tokens, SMTP users and their usage, email
  settings, queued mail, audit events) exactly as it was, encrypted passwords and updated_at
  included, and sends no test message through her settings;
- when it names one of alice's objects, is sent again naming a missing object of the same
  shape, and the two answers must not differ but for the echoed name.
"""

import dataclasses
import json
import operator
import re
import string
from dataclasses import dataclass
from functools import reduce
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.apps import apps
from django.conf import settings
from django.db.models import Max, Q
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import ApiToken, Owner, User
from accounts.services import create_api_token
from alerts.services import update_alert_settings
from mailqueue.services import accept_message
from relaysettings.services import save_relay_setting
from smtpusers.credentials import generate_smtp_user_name
from smtpusers.models import SmtpUser
from smtpusers.services import create_smtp_user, update_smtp_user
from testing.email_settings import relay_record
from testing.smtp import start_smtp_server


def classified_routes() -> dict[str, tuple[str, list["Probe"]]]:
    """THE CLASSIFICATION TABLE: every URL pattern's route -> (kind, probes).

    The route is spelt as django.urls spells it (ResolverMatch.route): the route strings of
    the includes and the pattern, joined. Admin URLs are classified by namespace (NAMESPACES).
    Probe paths and bodies name alice's objects with placeholders, e.g. {smtp_user}.
    """
    return {
        # --- Public: nothing of any owner's behind them.
        "healthz": (PUBLIC, [get("/healthz", auth=ANONYMOUS, answer={"status": "ok"})]),
        "api/schema/": (PUBLIC, [get("/api/schema/", auth=ANONYMOUS, answer="openapi")]),
        "api/docs/": (PUBLIC, [get("/api/docs/", auth=ANONYMOUS, answer="swagger")]),
        "accounts/login/": (PUBLIC, [get("/accounts/login/", auth=ANONYMOUS, answer="Sign in")]),
        "accounts/password/reset/": (PUBLIC, [get("/accounts/password/reset/", auth=ANONYMOUS)]),
        "accounts/password/reset/sent/": (
            PUBLIC,
            [get("/accounts/password/reset/sent/", auth=ANONYMOUS)],
        ),
        "accounts/password/reset/<uidb64>/<token>/": (
            PUBLIC,
            [
                get(
                    "/accounts/password/reset/{login_uid}/no-such-token/",
                    auth=ANONYMOUS,
                    answer="This reset link is invalid or has already been used.",
                )
            ],
        ),
        # The admin's sign-in form, which tells bob his login may not enter.
        "admin/login/": (PUBLIC, [get("/admin/login/", answer=ADMIN_REFUSAL)]),
        # --- The signed-in (or token's) owner's own objects, listed.
        "": (OWNER_LIST, [get("/", shows="owner_id")]),
        "smtp-users/": (
            OWNER_LIST,
            [get("/smtp-users/", shows="smtp_user"), get("/smtp-users/?search={smtp_user}")],
        ),
        "tokens/": (OWNER_LIST, [get("/tokens/", shows="token_prefix")]),
        "domains/": (OWNER_LIST, [get("/domains/", shows="domain")]),
        "activity/": (OWNER_LIST, [get("/activity/", shows="smtp_user")]),
        "messages/": (OWNER_LIST, [get("/messages/", shows="queued_sender")]),
        "alerts/": (
            OWNER_LIST,
            [
                get("/alerts/", shows="webhook_url"),
            ],
        ),
        "alerts/regenerate-secret/": (
            OWNER_ACTION,
            [get("/alerts/regenerate-secret/"), post("/alerts/regenerate-secret/", 302)],
        ),
        # Bob's own new secret, shown once; any other key shows only "already shown".
        "alerts/new-secret/<str:key>/": (OWNER_ACTION, [get("/alerts/new-secret/any-key/")]),
        "alerts/test/": (OWNER_ACTION, [get("/alerts/test/"), post("/alerts/test/", 302)]),
        **smtp_api(("listSmtp",), OWNER_LIST, answer={"status": "success"}, shows="smtp_user"),
        # --- Acting on the caller's own account only.
        "smtp-users/new/": (
            OWNER_ACTION,
            [
                get("/smtp-users/new/"),
                post("/smtp-users/new/", 302, data={"total_limit": "10", "hourly_limit": "5"}),
            ],
        ),
        "tokens/new/": (
            OWNER_ACTION,
            [get("/tokens/new/"), post("/tokens/new/", 302, data={"name": "Bob build server"})],
        ),
        # Bob may keep settings of his own for a domain alice holds too: creating them must
        # neither touch hers nor tell him that she holds it.
        "domains/new/": (
            OWNER_ACTION,
            [
                get("/domains/new/"),
                post("/domains/new/", 302, data={"domain": "{domain}", **BOB_DOMAIN_FORM}),
            ],
        ),
        "accounts/password/": (OWNER_ACTION, [get("/accounts/password/")]),
        "accounts/logout/": (OWNER_ACTION, [post("/accounts/logout/", 302)]),
        **smtp_api(
            ("addSmtp", "addSmtpUser"),
            OWNER_ACTION,
            data={"total_limit": 10, "hourly_limit": 5},
            answer={"status": "success", "message": "SMTP User Created"},
        ),
        # --- Pages naming one of the owner's objects: 404, like a missing one.
        "smtp-users/<str:smtp_user_name>/": (
            OBJECT_PAGE,
            object_page(
                "/smtp-users/{smtp_user}/", total_limit="1", hourly_limit="1", status="Disable"
            ),
        ),
        "smtp-users/<str:smtp_user_name>/disable/": (
            OBJECT_PAGE,
            object_page("/smtp-users/{smtp_user}/disable/", next="/smtp-users/"),
        ),
        "smtp-users/<str:smtp_user_name>/enable/": (
            OBJECT_PAGE,
            object_page("/smtp-users/{paused_smtp_user}/enable/", next="/smtp-users/"),
        ),
        "smtp-users/<str:smtp_user_name>/reset-password/": (
            OBJECT_PAGE,
            object_page("/smtp-users/{smtp_user}/reset-password/"),
        ),
        # The names ride in the form, and the answer is the list page's, as for unknown names.
        "smtp-users/bulk-status/": (
            OBJECT_PAGE,
            [
                post(
                    "/smtp-users/bulk-status/",
                    302,
                    data={"smtp_user_names": ["{smtp_user}"], "status": "Disable"},
                    note="disable",
                ),
                post(
                    "/smtp-users/bulk-status/",
                    302,
                    data={"smtp_user_names": ["{paused_smtp_user}"], "status": "Enable"},
                    note="enable",
                ),
            ],
        ),
        "usage/<str:smtp_user_name>/": (OBJECT_PAGE, object_page("/usage/{smtp_user}/")),
        "tokens/<int:token_id>/revoke/": (OBJECT_PAGE, object_page("/tokens/{token_id}/revoke/")),
        "tokens/<int:token_id>/created/<str:key>/": (
            OBJECT_PAGE,
            [get("/tokens/{token_id}/created/any-key/", 404, answer=NOT_FOUND_PAGE)],
        ),
        "smtp-users/<str:smtp_user_name>/password/<str:key>/": (
            OBJECT_PAGE,
            [get("/smtp-users/{smtp_user}/password/any-key/", 404, answer=NOT_FOUND_PAGE)],
        ),
        "domains/<str:domain>/edit/": (
            OBJECT_PAGE,
            object_page("/domains/{domain}/edit/", **BOB_DOMAIN_FORM),
        ),
        "domains/<str:domain>/delete/": (OBJECT_PAGE, object_page("/domains/{domain}/delete/")),
        "domains/<str:domain>/test/": (
            OBJECT_PAGE,
            object_page("/domains/{domain}/test/", to="bob@example.com"),
        ),
        # Buttons (POST only): checking DNS or rotating a key of alice's domain.
        "domains/<str:domain>/verify/": (
            OBJECT_PAGE,
            [post("/domains/{domain}/verify/", 404, answer=NOT_FOUND_PAGE)],
        ),
        "domains/<str:domain>/rotate-dkim/": (
            OBJECT_PAGE,
            [post("/domains/{domain}/rotate-dkim/", 404, answer=NOT_FOUND_PAGE)],
        ),
        # --- API calls naming one of the owner's objects, in the body or the query.
        **smtp_api(
            ("editSmtp", "editSmtpUser"),
            OBJECT_API,
            status=404,
            data={
                "smtp_user_name": "{smtp_user}",
                "total_limit": 1,
                "hourly_limit": 1,
                "status": "Disable",
            },
            answer=SMTP_USER_NOT_FOUND,
        ),
        **smtp_api(
            ("resetSmtpPassword",),
            OBJECT_API,
            status=404,
            data={"smtp_user_name": "{smtp_user}"},
            answer=SMTP_USER_NOT_FOUND,
        ),
        **{
            f"{prefix}/email/settings{slash}".lstrip("/"): (
                OBJECT_API,
                email_settings(prefix, slash=slash),
            )
            for prefix in EMAIL_API_PREFIXES
            for slash in ("", "/")
        },
        **{
            f"{prefix}/email/settings/verify{slash}".lstrip("/"): (
                OBJECT_API,
                [
                    Probe(
                        "POST",
                        f"{prefix}/email/settings/verify{slash}?domain={{domain}}",
                        404,
                        auth=TOKEN_IN_HEADERS,
                        answer=EMAIL_SETTINGS_NOT_FOUND,
                    )
                ],
            )
            for prefix in EMAIL_API_PREFIXES
            for slash in ("", "/")
        },
        **{
            f"{prefix}/email/settings/test/<str:to>{slash}".lstrip("/"): (
                OBJECT_API,
                [
                    Probe(
                        "POST",
                        f"{prefix}/email/settings/test/bob@example.com{slash}?domain={{domain}}",
                        404,
                        auth=TOKEN_IN_HEADERS,
                        answer=EMAIL_SETTINGS_NOT_FOUND,
                    )
                ],
            )
            for prefix in EMAIL_API_PREFIXES
            for slash in ("", "/")
        },
        # --- Catch-alls: an unknown call naming alice's object is just an unknown call.
        r"^v1\.0/": (
            CATCH_ALL,
            [post("/v1.0/{smtp_user}", 404, auth=TOKEN_IN_BODY, answer=UNKNOWN_SMTP_CALL)],
        ),
        **{
            prefix.lstrip("/"): (
                CATCH_ALL,
                [post(f"{prefix}{{smtp_user}}", 404, auth=TOKEN_IN_BODY, answer=UNKNOWN_SMTP_CALL)],
            )
            for prefix in SMTP_API_PREFIXES
        },
        **{
            f"{prefix}/".lstrip("/"): (
                CATCH_ALL,
                [
                    get(
                        f"{prefix}/email/{{domain}}",
                        404,
                        auth=TOKEN_IN_HEADERS,
                        answer=EMAIL_SETTINGS_NOT_FOUND,
                    )
                ],
            )
            for prefix in EMAIL_API_PREFIXES
        },
        r"^(?:engine/)?api/v2$": (
            CATCH_ALL,
            [
                get(prefix, 404, auth=TOKEN_IN_HEADERS, answer=EMAIL_SETTINGS_NOT_FOUND)
                for prefix in EMAIL_API_PREFIXES
            ],
        ),
    }


# --- The kinds of URL pattern, and how bob authenticates --------------------------------------

OBJECT_PAGE = "object page"  # names one of the owner's objects, in its path or its form
OBJECT_API = "object API"  # an API call naming an object in its body, query or path
OWNER_LIST = "owner list"  # lists the caller's own objects (pages, and the listSmtp call)
OWNER_ACTION = "owner action"  # acts on the caller's own account only: create forms, sign-out
PUBLIC = "public"  # nothing of any owner's behind it
ADMIN = "admin"  # the Django admin: staff only
CATCH_ALL = "catch-all/unknown"  # answers paths no other pattern takes

# Whole namespaces, for the patterns the table does not name. Every admin URL is staff only,
# and each one is probed (bob's session, GET and POST, against alice's objects: he lands on the
# admin login), so a new model admin needs no entry of its own.
NAMESPACES = {"admin": ADMIN}

SESSION = "session"
TOKEN_IN_BODY = "token in body"  # the SMTP users API: owner_id and token in the JSON body
TOKEN_IN_HEADERS = "token in headers"  # the email settings API: X-Key and X-Access-Token
ANONYMOUS = "anonymous"

# The ids of alice's objects a probe may name (and each has a missing twin: missing_ids).
TARGET_PLACEHOLDERS = {
    "smtp_user",
    "paused_smtp_user",
    "token_id",
    "domain",
    "login_uid",
    "smtp_user_pk",
    "login_pk",
}

# --- Probes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """One request of the matrix; `path`, `data` and `answer` may hold placeholders."""

    method: str
    path: str
    status: int
    auth: str = SESSION
    data: dict | None = None  # form fields for pages, the JSON body for the APIs
    answer: dict | str | None = None  # part of the JSON answer, or text the page shows
    shows: str | None = None  # bob's own object a list must show (so it is not just empty)
    lands_on: str | None = None  # follow redirects, which must end on this path
    compare_with_missing: bool = True  # with the same probe naming a missing object
    note: str = ""  # tells apart two probes of one URL and method in the test ids

    @property
    def test_id(self) -> str:
        return " ".join(filter(None, (self.method, self.path, self.note)))


def get(path, status=200, **options) -> Probe:
    return Probe("GET", path, status, **options)


def post(path, status=200, **options) -> Probe:
    return Probe("POST", path, status, **options)


NOT_FOUND_PAGE = "There is nothing at this address, or it belongs to another account."


def object_page(path: str, **post_data) -> list[Probe]:
    """A page naming alice's object: its GET (form or question) and POST (the change), 404."""
    return [
        get(path, 404, answer=NOT_FOUND_PAGE),
        post(path, 404, data=post_data, answer=NOT_FOUND_PAGE),
    ]


SMTP_API_PREFIXES = ("/v1.0/settings/", "/settings/")
SMTP_USER_NOT_FOUND = {
    "status": "error",
    "code": -1,
    "name": "ValidationError",
    "type": "ValidationError",
    "message": "SMTP user {smtp_user} not found",
}
UNKNOWN_SMTP_CALL = {"status": "error", "name": "GeneralError", "message": "Unknown API call"}


def smtp_api(calls: tuple[str, ...], kind: str, **probe) -> dict:
    """The routes of SMTP users API calls, under both prefixes, with and without the final
    slash; each probed by a POST with bob's token in the body."""
    return {
        f"{prefix}{call}{slash}".lstrip("/"): (
            kind,
            [post(f"{prefix}{call}{slash}", auth=TOKEN_IN_BODY, **probe)],
        )
        for prefix in SMTP_API_PREFIXES
        for call in calls
        for slash in ("", "/")
    }


EMAIL_API_PREFIXES = ("/api/v2", "/engine/api/v2")
EMAIL_SETTINGS_NOT_FOUND = {"status": "error", "info": "Not found!"}
# Bob's own settings, as the email settings API and the domain form take them.
BOB_RECORD = relay_record(
    "smtp.bob-relay.example",
    587,
    from_address="bob.sender@bob-mail.example",
    description="Bob's relay",
    reject_unauthorized=True,
    auth=("bob-relay-login", "bob-relay-Secret-7"),
)
BOB_DOMAIN_FORM = {
    "description": "Bob's relay",
    "from_address": "bob.sender@bob-mail.example",
    "host": "smtp.bob-relay.example",
    "port": "587",
    "tls_reject_unauthorized": "on",
    "auth_user": "bob-relay-login",
    "auth_password": "bob-relay-Secret-7",
}


def email_settings(prefix: str, *, slash: str = "") -> list[Probe]:
    """Every method of the email settings call, for alice's domain, with bob's token."""
    url = f"{prefix}/email/settings{slash}?domain={{domain}}"
    return [
        Probe(method, url, status, auth=TOKEN_IN_HEADERS, data=data, answer=answer)
        for method, status, data, answer in [
            ("GET", 404, None, EMAIL_SETTINGS_NOT_FOUND),
            # An upsert: bob gets settings of his own for the domain; alice's stay hers.
            ("POST", 200, BOB_RECORD, {**BOB_RECORD, "domain": "{domain}"}),
            ("PUT", 404, BOB_RECORD, EMAIL_SETTINGS_NOT_FOUND),
            ("DELETE", 200, None, {"status": "OK", "Info": "Removed 0 record."}),
        ]
    ]


ADMIN_LOGIN_PATH = "/admin/login/"
ADMIN_REFUSAL = "but are not authorized to access this page"
# Arguments for the admin's URL patterns, by their names.
ADMIN_ARGUMENTS = {
    "object_id": "{smtp_user_pk}",
    "id": "{login_pk}",
    "content_type_id": "{smtp_user_pk}",
    "app_label": "smtpusers",
    "url": "no-such-page/",
}


def admin_probes(route: str) -> list[Probe]:
    path = re.sub(
        r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)",
        lambda match: ADMIN_ARGUMENTS.get(match.group(1) or match.group(2), "1"),
        route,
    )
    path = "/" + path.replace("^", "").replace("$", "")
    return [
        Probe(
            method,
            path,
            200,
            # As the delete confirmation posts it: were the admin open to bob, alice's SMTP
            # user would go.
            data={"post": "yes"} if method == "POST" else None,
            answer=ADMIN_REFUSAL,
            lands_on=ADMIN_LOGIN_PATH,
            # The login form echoes the path, whose ids are bare numbers: nothing to compare.
            compare_with_missing=False,
        )
        for method in ("GET", "POST")
    ]


def placeholders_in(value) -> set[str]:
    if isinstance(value, str):
        return {field for _, field, _, _ in string.Formatter().parse(value) if field}
    if isinstance(value, dict):
        return set().union(*(placeholders_in(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(placeholders_in(item) for item in value))
    return set()


def filled(value, ids: dict):
    """`value` with every {placeholder} in its strings replaced by the id it names."""
    if isinstance(value, str):
        return value.format_map(ids)
    if isinstance(value, dict):
        return {key: filled(item, ids) for key, item in value.items()}
    if isinstance(value, list):
        return [filled(item, ids) for item in value]
    return value


def targets_of(probe: Probe) -> set[str]:
    """The placeholders of alice's objects that the probe sends."""
    return placeholders_in(probe.path) | placeholders_in(probe.data)


# --- The URL patterns, from the resolver, and the matrix --------------------------------------


@dataclass(frozen=True)
class RoutePattern:
    route: str  # as ResolverMatch.route spells it
    name: str  # namespace:name
    view: str

    @property
    def namespace(self) -> str:
        return self.name.partition(":")[0] if ":" in self.name else ""


def _view_path(callback) -> str:
    view = getattr(callback, "view_class", callback)
    return f"{view.__module__}.{getattr(view, '__qualname__', type(view).__qualname__)}"


def _join_route(prefix: str, route: str) -> str:
    # As django.urls.resolvers.URLResolver._join_route: an included route loses its "^".
    return prefix + route.removeprefix("^") if prefix else route


def url_patterns(patterns=None, prefix: str = "", namespaces: tuple = ()) -> list[RoutePattern]:
    """Every URL pattern under `patterns` (the root URLconf's), includes walked recursively."""
    found = []
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = _join_route(prefix, str(pattern.pattern))
        if isinstance(pattern, URLResolver):
            inner = (*namespaces, pattern.namespace) if pattern.namespace else namespaces
            found += url_patterns(pattern.url_patterns, route, inner)
        elif isinstance(pattern, URLPattern):
            name = ":".join((*namespaces, pattern.name or ""))
            found.append(RoutePattern(route, name, _view_path(pattern.callback)))
    return found


ROUTES = classified_routes()
PATTERNS = url_patterns()


def kind_of(pattern: RoutePattern) -> str | None:
    if pattern.route in ROUTES:
        return ROUTES[pattern.route][0]
    return NAMESPACES.get(pattern.namespace)


def probes_of(pattern: RoutePattern) -> list[Probe]:
    if pattern.route in ROUTES:
        return ROUTES[pattern.route][1]
    if kind_of(pattern) == ADMIN:
        return admin_probes(pattern.route)
    return []


def matrix(kinds=None, auths=None, *, naming=None) -> list:
    """pytest params (route, probe) of the probes of these kinds, authentications, and naming
    one of these placeholders in their path."""
    return [
        pytest.param(pattern.route, probe, id=probe.test_id)
        for pattern in PATTERNS
        for probe in probes_of(pattern)
        if (kinds is None or kind_of(pattern) in kinds)
        and (auths is None or probe.auth in auths)
        and (naming is None or placeholders_in(probe.path) & naming)
    ]


MATRIX = matrix()

# Ids no object can have, reaching the same URL patterns: a NUL character (%00 in a path) once
# made PostgreSQL refuse the query, a 500 instead of the 404 of a missing object.
MALFORMED_IDS = {"smtp_user": "smtp%00", "paused_smtp_user": "%00", "domain": "%00.example"}

# Bob's token under alice's owner_id: refused like any other wrong pair.
WRONG_PAIR_ANSWERS = {
    TOKEN_IN_BODY: {"status": "error", "name": "AuthenticationError", "message": "Token MissMatch"},
    TOKEN_IN_HEADERS: {"status": "error", "info": "Invalid Token or Key"},
}

# --- Alice's and bob's objects ---------------------------------------------------------------


@dataclass
class Holdings:
    """One owner's objects: `ids` for probes to name, `identifiers` that must not leak."""

    ids: dict[str, str]
    identifiers: dict[str, str]


def _uid(user_pk: int) -> str:
    return urlsafe_base64_encode(force_bytes(user_pk))


def build_holdings(tenant, *, total_limit: int, hourly_limit: int, relay_port: int) -> Holdings:
    """Through the services: two SMTP users (one disabled), a named API token, email settings
    for a domain, and a message queued through them (which also counts usage)."""
    name = tenant.login.email.partition("@")[0]
    owner = tenant.owner
    smtp_user, password = create_smtp_user(
        owner, total_limit=total_limit, hourly_limit=hourly_limit
    )
    paused, paused_password = create_smtp_user(owner, total_limit=total_limit, hourly_limit=1)
    update_smtp_user(owner, smtp_user_name=paused.smtp_user_name, status="Disable")
    api_token, token = create_api_token(owner, name=f"{name.title()} deploy key")
    domain = f"{name}-mail.example"
    relay_password = f"{name}-relay-Secret-42"
    relay_setting, _ = save_relay_setting(
        owner,
        domain=domain,
        data={
            "provider": "smtp",
            "description": f"{name.title()}'s invoices relay",
            "from": f"{name}.sender@{domain}",
            "options": {
                # A real SMTP server: a test message sent through these settings would arrive.
                "host": "127.0.0.1",
                "port": relay_port,
                "secure": False,
                "debug": False,
                "tls": {"rejectUnauthorized": False},
                "auth": {"user": f"{name}-relay-login", "pass": relay_password},
            },
        },
    )
    alert_settings, _ = update_alert_settings(
        owner,
        quota_thresholds={"hourly": "70, 95", "daily": "", "total": "85"},
        email_enabled=True,
        webhook_url=f"https://hooks.{name}-alerts.example/notify",
    )
    message = accept_message(
        smtp_user,
        mail_from=f"billing@{domain}",
        recipients=[f"customer@{name}-client.example"],
        data=f"Subject: {name.title()}'s invoice\r\n\r\nDue.\r\n".encode(),
        now=timezone.now(),
    )
    smtp_user.refresh_from_db()
    paused.refresh_from_db()
    relay_setting.refresh_from_db()
    identifiers = {
        "owner_id": owner.owner_id,
        "owner name": owner.name,
        "login email": tenant.login.email,
        "API token": tenant.token,
        "named API token": token,
        "API token name": api_token.name,
        "SMTP user": smtp_user.smtp_user_name,
        "paused SMTP user": paused.smtp_user_name,
        "SMTP password": password,
        "paused SMTP password": paused_password,
        "SMTP password ciphertext": smtp_user.password_encrypted,
        "paused SMTP password ciphertext": paused.password_encrypted,
        "total limit": str(total_limit),
        "hourly limit": str(hourly_limit),
        "domain": domain,
        "email settings _id": relay_setting.public_id,
        "email settings from": relay_setting.from_address,
        "email settings description": relay_setting.description,
        "email settings auth user": relay_setting.auth_user,
        "email settings auth pass": relay_password,
        "email settings auth pass ciphertext": relay_setting.auth_password_encrypted,
        "queued message recipient": message.rcpt_to[0],
        "alert webhook URL": alert_settings.webhook_url,
        "alert webhook secret ciphertext": alert_settings.webhook_secret_encrypted,
        **{
            f"API token prefix {prefix}": prefix
            for prefix in ApiToken.objects.filter(owner=owner).values_list("prefix", flat=True)
        },
    }
    ids = {
        "smtp_user": smtp_user.smtp_user_name,
        "paused_smtp_user": paused.smtp_user_name,
        "smtp_user_pk": str(smtp_user.pk),
        "token_id": str(api_token.pk),
        "token_prefix": api_token.prefix,
        "webhook_url": alert_settings.webhook_url,
        "domain": domain,
        "login_uid": _uid(tenant.login.pk),
        "login_pk": str(tenant.login.pk),
        "owner_id": owner.owner_id,
        "queued_sender": message.mail_from,
    }
    return Holdings(ids=ids, identifiers=identifiers)


def _unused_smtp_user_name() -> str:
    while SmtpUser.objects.filter(smtp_user_name=(name := generate_smtp_user_name())).exists():
        pass
    return name


def missing_ids() -> dict[str, str]:
    """Ids shaped like alice's that name nothing at all."""
    unused_pk = 1000 + max(
        model.objects.aggregate(top=Max("pk"))["top"] or 0 for model in (User, SmtpUser, ApiToken)
    )
    return {
        "smtp_user": _unused_smtp_user_name(),
        "paused_smtp_user": _unused_smtp_user_name(),
        "smtp_user_pk": str(unused_pk),
        "token_id": str(unused_pk),
        "domain": "nobody-mail.example",
        "login_uid": _uid(unused_pk),
        "login_pk": str(unused_pk),
    }


@pytest.fixture(scope="module")
def relay_server():
    """Where alice's and bob's email settings point: it must receive nothing."""
    with start_smtp_server() as server:
        yield server


@dataclass
class World:
    alice: Holdings
    bob: Holdings
    missing: dict[str, str]


@pytest.fixture
def world(alice, bob, relay_server) -> World:
    alice_holdings = build_holdings(
        alice, total_limit=987653, hourly_limit=86421, relay_port=relay_server.port
    )
    bob_holdings = build_holdings(
        bob, total_limit=500000, hourly_limit=1000, relay_port=relay_server.port
    )
    relay_server.messages.clear()
    return World(alice=alice_holdings, bob=bob_holdings, missing=missing_ids())


# --- Snapshots of an owner's rows -------------------------------------------------------------


def owner_lookups(model, hops: int = 2) -> list[str]:
    """Lookups from `model` to accounts.Owner through at most `hops` foreign keys."""
    lookups = []
    for field in model._meta.concrete_fields:
        if not field.many_to_one:
            continue
        if field.related_model is Owner:
            lookups.append(field.name)
        elif hops > 1 and field.related_model is not model:
            lookups += [
                f"{field.name}__{rest}" for rest in owner_lookups(field.related_model, hops - 1)
            ]
    return lookups


def rows_of(owner: Owner) -> dict[str, list[dict]]:
    """Every row, of every model, that belongs to `owner` directly or one foreign key away."""
    rows = {}
    for model in apps.get_models():
        if model is Owner:
            condition = Q(pk=owner.pk)
        elif lookups := owner_lookups(model):
            condition = reduce(operator.or_, (Q(**{lookup: owner}) for lookup in lookups))
        else:
            continue
        queryset = model._base_manager.filter(condition).order_by("pk")
        rows[model._meta.label] = [
            {
                field: bytes(value) if isinstance(value, memoryview) else value
                for field, value in row.items()
            }
            for row in queryset.values()
        ]
    return rows


# --- Sending a probe and reading its answer ---------------------------------------------------


def send(client, probe: Probe, ids: dict, caller):
    """The probe's request with `ids` filled in, as `caller` (a conftest Tenant)."""
    path, data = filled(probe.path, ids), filled(probe.data, ids)
    if probe.auth in (TOKEN_IN_BODY, TOKEN_IN_HEADERS):
        if probe.auth == TOKEN_IN_BODY:
            data = {**caller.credentials, **(data or {})}
        return client.generic(
            probe.method,
            path,
            data=json.dumps(data) if data is not None else "",
            content_type="application/json",
            headers=caller.headers if probe.auth == TOKEN_IN_HEADERS else {},
        )
    if probe.auth == SESSION:
        client.force_login(caller.login)
    follow = probe.lands_on is not None
    if probe.method == "GET":
        return client.get(path, follow=follow)
    assert probe.method == "POST", f"pages are probed with GET and POST, not {probe.method}"
    return client.post(path, data or {}, follow=follow)


def messages_added(response) -> list[str]:
    """The flash messages the request queued for the next page."""
    storage = getattr(response.wsgi_request, "_messages", None)
    return [str(message) for message in getattr(storage, "_queued_messages", [])]


def visible_text(response) -> str:
    """All the answer tells its caller: body, redirects, cookies and queued messages."""
    parts = [response.content.decode("utf-8", "replace"), response.get("Location", "")]
    parts += [location for location, _ in getattr(response, "redirect_chain", [])]
    parts += [cookie.value for cookie in response.cookies.values()]
    parts += messages_added(response)
    return "\n".join(parts)


def assert_shows_nothing_of(holdings: Holdings, response, *, sent: list[str]):
    text = visible_text(response)
    # What bob sent may come back to him (e.g. "SMTP user smtp12345678 not found").
    for value in sorted(sent, key=len, reverse=True):
        text = text.replace(value, "")
    leaked = [what for what, value in holdings.identifiers.items() if value and value in text]
    assert not leaked, f"the answer shows alice's {', '.join(leaked)}"
    assert "alice" not in text.lower(), "the answer mentions alice"


def assert_json_includes(response, expected: dict):
    answered = response.json()
    assert {key: answered.get(key) for key in expected} == expected


def assert_answers_as_told(probe: Probe, response, ids: dict):
    body = response.content.decode("utf-8", "replace")
    assert response.status_code == probe.status, body[:500]
    if probe.lands_on is not None:
        assert response.wsgi_request.path == probe.lands_on, response.redirect_chain
    if isinstance(probe.answer, dict):
        assert_json_includes(response, filled(probe.answer, ids))
    elif probe.answer is not None:
        assert filled(probe.answer, ids) in body


CSRF_TOKEN = re.compile(r'name="(?:csrfmiddlewaretoken|once_token)" value="[^"]*"')
RECORD_ID = re.compile(r'"_id":\s*"[0-9a-f]{24}"')
# A new domain's random verification token and DKIM key (API.md §5's extras).
DOMAIN_SECRETS = re.compile(
    r"(?<=smtprelay-verification=)[0-9a-f]{32}|(?<=p=)[A-Za-z0-9+/=]+|sr\d{6}[0-9a-f]{4}"
)


def comparable(response, ids: dict, targets: set[str]) -> dict:
    """The answer with the named ids (and per-request tokens) replaced by placeholders."""

    def general(text: str) -> str:
        for target in sorted(targets, key=lambda name: len(ids[name]), reverse=True):
            text = text.replace(ids[target], f"{{{target}}}")
        text = DOMAIN_SECRETS.sub("…", text)
        return RECORD_ID.sub('"_id": "…"', CSRF_TOKEN.sub("csrf", text))

    return {
        "status": response.status_code,
        "content type": response.get("Content-Type"),
        "location": general(response.get("Location", "")),
        "messages": [general(message) for message in messages_added(response)],
        "body": general(response.content.decode("utf-8", "replace")),
    }


def write_matrix_summary() -> Path:
    """The matrix, one line per probe, with its counts: test-output/tenant-isolation/."""
    probes = [(pattern, probe) for pattern in PATTERNS for probe in probes_of(pattern)]
    pairs = {(pattern.route, probe.method) for pattern, probe in probes}
    lines = [
        f"{kind_of(pattern):18} {probe.method:6} {pattern.route}   ({probe.test_id})"
        for pattern, probe in probes
    ]
    path = Path(settings.BASE_DIR) / "test-output" / "tenant-isolation" / "matrix.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"{len(PATTERNS)} URL patterns, {len(pairs)} URL pattern x method pairs, "
        f"{len(probes)} probes\n\n" + "\n".join(lines) + "\n"
    )
    return path


# --- The tests ------------------------------------------------------------------------------


def test_it_classifies_every_url_pattern():
    unclassified = [pattern for pattern in PATTERNS if kind_of(pattern) is None]
    assert not unclassified, (
        "URL patterns without a tenant-isolation class: add each to classified_routes() in "
        "portal/tests/test_tenant_isolation.py, with its kind and probes:\n"
        + "\n".join(f"  {p.route!r}  ({p.name or 'unnamed'}, view {p.view})" for p in unclassified)
    )
    routes = [pattern.route for pattern in PATTERNS]
    assert len(routes) == len(set(routes)), "two URL patterns share a route: keys must be unique"
    stale = set(ROUTES) - set(routes)
    assert not stale, f"the table classifies routes no URL pattern has: {sorted(stale)}"
    unprobed = [pattern.route for pattern in PATTERNS if not probes_of(pattern)]
    assert not unprobed, f"classified but never probed: {unprobed}"
    assert len({param.id for param in MATRIX}) == len(MATRIX), "two probes share a test id"
    write_matrix_summary()


def test_it_probes_with_known_placeholders_and_shows_lists_are_not_empty():
    for pattern in PATTERNS:
        for probe in probes_of(pattern):
            assert targets_of(probe) <= TARGET_PLACEHOLDERS, probe.test_id
            if kind_of(pattern) == OWNER_LIST and not targets_of(probe):
                assert probe.shows, f"{probe.test_id}: say which of bob's objects it lists"


def test_it_snapshots_every_kind_of_alices_rows_and_only_hers(world, alice, bob):
    rows = rows_of(alice.owner)
    assert {label for label, model_rows in rows.items() if model_rows} >= {
        "accounts.Owner",
        "accounts.User",
        "accounts.ApiToken",
        "smtpusers.SmtpUser",
        "smtpusers.SmtpUsageHour",
        "relaysettings.RelaySetting",
        "mailqueue.QueuedMessage",
        "audit.AuditEvent",
    }
    assert world.alice.ids["smtp_user"] not in str(rows_of(bob.owner))


@pytest.mark.parametrize(("route", "probe"), MATRIX)
def test_it_keeps_alices_data_from_bob(route, probe, client, world, alice, bob, relay_server):
    match = resolve(urlsplit(filled(probe.path, world.alice.ids)).path)
    assert match.route == route, f"{probe.path} reaches {match.route!r}, not the route it probes"
    targets = targets_of(probe)
    sent = [world.alice.ids[target] for target in targets]
    before = rows_of(alice.owner)

    response = send(client, probe, world.alice.ids, bob)

    assert_answers_as_told(probe, response, world.alice.ids)
    assert_shows_nothing_of(world.alice, response, sent=sent)
    if probe.shows:
        assert world.bob.ids[probe.shows] in response.content.decode()
    assert rows_of(alice.owner) == before
    assert relay_server.messages == []
    if targets and probe.compare_with_missing:
        missing_response = send(client, probe, world.missing, bob)
        assert comparable(missing_response, world.missing, targets) == comparable(
            response, world.alice.ids, targets
        )
        assert rows_of(alice.owner) == before


@pytest.mark.parametrize(
    ("route", "probe"), matrix({OBJECT_PAGE}, {SESSION}, naming=MALFORMED_IDS.keys())
)
def test_it_answers_a_malformed_id_like_a_missing_one(route, probe, client, world, alice, bob):
    assert resolve(urlsplit(filled(probe.path, MALFORMED_IDS)).path).route == route
    before = rows_of(alice.owner)

    response = send(client, probe, MALFORMED_IDS, bob)

    assert_answers_as_told(probe, response, MALFORMED_IDS)
    assert rows_of(alice.owner) == before


@pytest.mark.parametrize(
    ("route", "probe"),
    matrix({OBJECT_API, OWNER_LIST, OWNER_ACTION}, WRONG_PAIR_ANSWERS.keys()),
)
def test_it_refuses_bobs_token_under_alices_owner_id(route, probe, client, world, alice, bob):
    bob_token_as_alice = dataclasses.replace(bob, owner=alice.owner)
    before = rows_of(alice.owner)

    response = send(client, probe, world.alice.ids, bob_token_as_alice)

    assert response.status_code == 401
    assert_json_includes(response, WRONG_PAIR_ANSWERS[probe.auth])
    sent = [world.alice.ids[target] for target in targets_of(probe)] + [alice.owner_id]
    assert_shows_nothing_of(world.alice, response, sent=sent)
    assert rows_of(alice.owner) == before
