"""OpenAPI description of the email settings API (rules live in relaysettings/validators.py).

The record's keys (`from`, `_id`, `pass`) are no Python names, so the shapes are plain
OpenAPI objects rather than serializers.
"""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema

# Plain ASCII names of up to four labels; the server also takes Unicode (IDNA) names and,
# for options.host, IP addresses.
HOST_NAME_PATTERN = r"^[a-z0-9](-?[a-z0-9]){0,30}(\.[a-z](-?[a-z0-9]){0,30}){1,3}$"

# Text without NUL or lone surrogates (the database cannot store them); NON_BLANK_TEXT also
# needs one non-space character.
_TEXT_CHAR = r"[^\x00\ud800-\udfff]"
TEXT = rf"^{_TEXT_CHAR}*$"
NON_BLANK_TEXT = rf"^{_TEXT_CHAR}*[^\s\x00\ud800-\udfff]{_TEXT_CHAR}*$"

_options = {
    "type": "object",
    "required": ["host", "port"],
    "properties": {
        "host": {
            "type": "string",
            "pattern": HOST_NAME_PATTERN,
            "maxLength": 253,
            "description": "Host name or IP address of the upstream SMTP server.",
        },
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "secure": {
            "type": "boolean",
            "description": "Implicit TLS (e.g. port 465); "
            "otherwise STARTTLS is used when the server offers it.",
        },
        "debug": {"type": "boolean"},
        "tls": {
            "type": "object",
            "properties": {
                "rejectUnauthorized": {
                    "type": "boolean",
                    "description": "Verify the server's certificate.",
                }
            },
        },
        "auth": {
            "type": "object",
            "required": ["user", "pass"],
            "properties": {
                "user": {"type": "string", "pattern": NON_BLANK_TEXT, "maxLength": 254},
                "pass": {"type": "string", "pattern": NON_BLANK_TEXT, "maxLength": 500},
            },
            "description": "Leave out for an unauthenticated relay.",
        },
    },
}
_record_fields = {
    "provider": {"type": "string", "enum": ["smtp"]},
    "description": {"type": "string", "maxLength": 500, "pattern": TEXT},
    "from": {
        "type": "string",
        "format": "email",
        "maxLength": 254,
        "pattern": r"^[a-z0-9._+-]{1,64}@[a-z0-9-]{1,63}(\.[a-z0-9-]{1,63})*\.[a-z]{2,}$",
    },
    "options": _options,
}
RECORD_REQUEST = {
    "type": "object",
    "required": ["provider", "from", "options"],
    "properties": _record_fields,
}
_STATUS = {"type": "string", "enum": ["pending", "verified", "failed"]}
_DKIM = {
    "type": "object",
    "nullable": True,
    "required": ["selector", "txt_name", "txt_value", "status"],
    "properties": {
        "selector": {"type": "string"},
        "txt_name": {"type": "string", "example": "sr202612a1b2._domainkey.my.example.com"},
        "txt_value": {"type": "string", "example": "v=DKIM1; k=rsa; p=MIIBIjANBgkq…"},
        "status": _STATUS,
    },
}
RECORD_RESPONSE = {
    "type": "object",
    "required": ["_id", "provider", "description", "from", "options", "domain"],
    "properties": {
        "_id": {"type": "string", "pattern": "^[0-9a-f]{24}$"},
        **_record_fields,
        "domain": {"type": "string"},
        "verification": {
            "type": "object",
            "description": "Extra (ignored in request bodies): the ownership proof to publish.",
            "required": ["status", "txt_name", "txt_value", "checked_at"],
            "properties": {
                "status": _STATUS,
                "txt_name": {"type": "string", "example": "_smtprelay.my.example.com"},
                "txt_value": {"type": "string", "example": "smtprelay-verification=0f3c…"},
                "checked_at": {"type": "string", "format": "date-time", "nullable": True},
                "detail": {
                    "type": "string",
                    "nullable": True,
                    "description": "Why the last check failed (or could not be completed).",
                },
            },
        },
        "dkim": {**_DKIM, "description": "Extra: the DKIM key that signs, and its record."},
        "dkim_next": {
            **_DKIM,
            "description": "Extra, during a key rotation only: the new key to publish; "
            "signing switches to it once its record is seen in DNS.",
        },
    },
}
ERROR = {
    "type": "object",
    "required": ["status", "info"],
    "properties": {
        "status": {"type": "string", "enum": ["error"]},
        "info": {"type": "string"},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "With 'Bad parameters.': the message of each bad field.",
        },
    },
}
REMOVED = {
    "type": "object",
    "required": ["status", "Info"],
    "properties": {
        "status": {"type": "string", "enum": ["OK"]},
        "Info": {"type": "string", "example": "Removed 1 record."},
    },
}
SENT = {
    "type": "object",
    "required": ["status"],
    "properties": {"status": {"type": "string", "enum": ["OK"]}},
}

DOMAIN = OpenApiParameter(
    "domain",
    str,
    OpenApiParameter.QUERY,
    required=True,
    description="The domain whose settings these are. Unicode names are accepted and stored "
    "lowercase, IDNA-encoded (xn--…).",
    pattern=HOST_NAME_PATTERN,
)
_COMMON_ERRORS = (400, 401, 429, 500, 503)


def documented(*, summary: str, request=None, success=RECORD_RESPONSE, not_found=True):
    errors = _COMMON_ERRORS + ((404,) if not_found else ())
    return extend_schema(
        summary=summary,
        tags=["Email settings"],
        parameters=[DOMAIN],
        request={"application/json": request} if request else None,
        responses={200: OpenApiResponse(success), **dict.fromkeys(errors, OpenApiResponse(ERROR))},
    )
