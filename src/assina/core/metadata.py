"""`metadata`: the flat string→string map every main resource takes."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from assina.core.inputs import NO_NUL

MAX_KEYS = 50
MAX_KEY_LENGTH = 40
MAX_VALUE_LENGTH = 500


def _check_metadata(value: dict[str, str]) -> dict[str, str]:
    if len(value) > MAX_KEYS:
        raise ValueError(f"at most {MAX_KEYS} keys")
    for key, item in value.items():
        if not key or len(key) > MAX_KEY_LENGTH:
            raise ValueError(f"keys must have 1 to {MAX_KEY_LENGTH} characters")
        if len(item) > MAX_VALUE_LENGTH:
            raise ValueError(f"values must have at most {MAX_VALUE_LENGTH} characters")
    return value


Metadata = Annotated[
    dict[str, Annotated[str, Field(strict=True)]],
    AfterValidator(_check_metadata),
    Field(
        description=f"Flat string→string map, at most {MAX_KEYS} keys of 1 to "
        f"{MAX_KEY_LENGTH} characters, values of at most {MAX_VALUE_LENGTH}.",
        json_schema_extra={
            "additionalProperties": {"type": "string", "maxLength": MAX_VALUE_LENGTH},
            "maxProperties": MAX_KEYS,
            "propertyNames": {"minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": NO_NUL},
        },
    ),
]
