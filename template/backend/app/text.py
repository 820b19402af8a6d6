"""Free text from clients: refused (422) when it holds what no store or log should get."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

# NUL, which Postgres refuses in text, and UTF-16 surrogates without their pair (JSON's
# "\ud800"), which no UTF-8 encoder accepts: either would fail later, as a 500.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(value: str) -> str:
    if UNSTORABLE.search(value):
        raise PydanticCustomError(
            "text_unstorable", "Text must not contain NUL characters or unpaired surrogates"
        )
    return value


# A str that any database and log can hold: use it for every free-text field of a request.
Text = Annotated[str, AfterValidator(storable)]
