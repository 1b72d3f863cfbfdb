"""The API's body parsers (REST_FRAMEWORK's DEFAULT_PARSER_CLASSES)."""

from rest_framework import parsers


class BodyNestedTooDeeply(Exception):
    """A JSON body deeper than Python's parser goes: refused, not a crash."""


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser; a body nested past the recursion limit is a refused body."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise BodyNestedTooDeeply() from None
