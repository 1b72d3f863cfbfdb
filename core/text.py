"""Text the database can store: PostgreSQL refuses NUL characters, and UTF-8 lone surrogates."""


def is_storable_text(value: str) -> bool:
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
