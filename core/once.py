"""Every POST that changes something is safe to re-send (reload, Back, a second click).

Two pieces, both kept in the session (server-side rows, never the cookie):

- One-time form tokens: each rendered form carries a fresh random token (`{% once_token %}`);
  a POST that ended in a redirect spends it, and the same POST sent again answers with the
  same redirect instead of doing it twice.
- Once-shown secrets: a new password, token or webhook secret is encrypted (core.crypto) into
  the session for a few minutes and shown by the page the POST redirects to; showing it
  deletes it, so a reload of that page says it was shown once.
"""

import json
import secrets
import time
from functools import wraps

from django.contrib import messages
from django.shortcuts import redirect

from core.crypto import decrypt, encrypt

FORM_TOKEN_FIELD = "once_token"
_SPENT_FORM_TOKENS = "once_spent_form_tokens"
_SECRETS = "once_shown_secrets"
# A form re-sent after this many later forms is no longer recognised (it was long ago).
SPENT_FORM_TOKENS_KEPT = 100
SECRET_LIFETIME_SECONDS = 10 * 60
ALREADY_DONE_MESSAGE = "Already done: this form had been sent before, so nothing was repeated."


def new_form_token() -> str:
    return secrets.token_urlsafe(16)


def once_per_form(view):
    """A POST carrying a token already spent by a POST that succeeded is not done again.

    Success is a redirect (every changing POST redirects after it), so a form shown again with
    its errors keeps its token and can be corrected and sent. A POST without a token (a script,
    not one of the pages' forms) is done as sent.
    """

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        token = request.POST.get(FORM_TOKEN_FIELD, "") if request.method == "POST" else ""
        if not token:
            return view(request, *args, **kwargs)
        spent = request.session.get(_SPENT_FORM_TOKENS, {})
        if token in spent:
            messages.info(request, ALREADY_DONE_MESSAGE)
            return redirect(spent[token])
        response = view(request, *args, **kwargs)
        if response.status_code in (301, 302, 303):
            spent = request.session.get(_SPENT_FORM_TOKENS, {})
            spent[token] = response["Location"]
            # Dicts keep insertion order: drop the oldest beyond the limit.
            latest = list(spent.items())[-SPENT_FORM_TOKENS_KEPT:]
            request.session[_SPENT_FORM_TOKENS] = dict(latest)
        return response

    return wrapper


def keep_secret(request, **values) -> str:
    """Park `values` (strings, lists) encrypted in the session; returns the key to show them."""
    now = time.time()
    kept = {
        key: entry
        for key, entry in request.session.get(_SECRETS, {}).items()
        if entry["expires_at"] > now
    }
    key = secrets.token_urlsafe(16)
    kept[key] = {
        "ciphertext": encrypt(json.dumps(values)),
        "expires_at": now + SECRET_LIFETIME_SECONDS,
    }
    request.session[_SECRETS] = kept
    return key


def take_secret(request, key: str) -> dict | None:
    """The values kept under `key`, deleted as they are read; None once shown or expired."""
    kept = request.session.get(_SECRETS, {})
    entry = kept.pop(key, None)
    if entry is None:
        return None
    request.session[_SECRETS] = kept
    if entry["expires_at"] <= time.time():
        return None
    return json.loads(decrypt(entry["ciphertext"]))
