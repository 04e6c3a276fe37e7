"""Settings errors in the words the user wrote them: pydantic reports a field (`timeout`), the user set a variable
(`SHOPIFY_TIMEOUT`); this turns a `ValidationError` of a pydantic-settings class into one line naming variables."""

from __future__ import annotations

from pydantic import AliasChoices, ValidationError
from pydantic_settings import BaseSettings

__all__ = ["setting_problems", "variable_name"]

MAX_PROBLEMS = 5


def variable_name(settings: type[BaseSettings], field: str) -> str:
    """The environment variable that sets `field` of `settings` (its first alias, else prefix + name)."""
    info = settings.model_fields.get(field)
    if info is not None:
        alias = info.validation_alias
        if isinstance(alias, AliasChoices) and alias.choices and isinstance(alias.choices[0], str):
            return alias.choices[0]
        if isinstance(alias, str):
            return alias
    prefix = str(settings.model_config.get("env_prefix") or "")
    return f"{prefix}{field}".upper()


def setting_problems(settings: type[BaseSettings], exc: ValidationError) -> str:
    """`SHOPIFY_TIMEOUT: Input should be a valid number; ...`: at most five problems, each naming its variable,
    never the value given (it may be a secret)."""
    problems = []
    for error in exc.errors(include_url=False, include_input=False)[:MAX_PROBLEMS]:
        location = [str(part) for part in error["loc"]]
        message = str(error["msg"]).removeprefix("Value error, ")
        if not location:  # a check across several settings: its message names them
            problems.append(message)
            continue
        detail = ".".join(location[1:])
        problems.append(f"{variable_name(settings, location[0])}{'.' + detail if detail else ''}: {message}")
    return "; ".join(problems) or "invalid settings"
