"""The xAPI 1.0.3 statement rules the tests hold every statement to (Data, section 2.4).

Written from the specification, independent of namalms.formats.xapi, so a builder bug cannot
hide behind a matching checker.
"""
from __future__ import annotations

import re
from datetime import datetime

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$")
LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
STATEMENT_KEYS = {"id", "actor", "verb", "object", "result", "context", "timestamp", "stored", "authority",
                  "version", "attachments"}


def _language_map(value, where, problems):
    if not isinstance(value, dict) or not value:
        problems.append(f"{where}: must be a non-empty language map")
        return
    for tag, text in value.items():
        if not LANGUAGE_TAG.match(tag) or not isinstance(text, str) or not text:
            problems.append(f"{where}: bad entry {tag!r}: {text!r}")


def _timestamp(value, where, problems):
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        problems.append(f"{where}: not ISO 8601: {value!r}")
        return
    if moment.tzinfo is None:
        problems.append(f"{where}: timestamp without time zone")


def _agent(value, where, problems):
    if not isinstance(value, dict) or value.get("objectType", "Agent") != "Agent":
        problems.append(f"{where}: must be an Agent")
        return
    identifiers = [k for k in ("mbox", "mbox_sha1sum", "openid", "account") if k in value]
    if len(identifiers) != 1:
        problems.append(f"{where}: exactly one inverse functional identifier, got {identifiers}")
    account = value.get("account")
    if account is not None:
        if not isinstance(account, dict) or not IRI.match(str(account.get("homePage", ""))) \
                or not isinstance(account.get("name"), str) or not account["name"]:
            problems.append(f"{where}.account: needs homePage (IRL) and name")


def _activity(value, where, problems):
    if not IRI.match(str(value.get("id", ""))):
        problems.append(f"{where}.id: not an IRI")
    definition = value.get("definition")
    if definition is not None:
        for key in ("name", "description"):
            if key in definition:
                _language_map(definition[key], f"{where}.definition.{key}", problems)
        if "type" in definition and not IRI.match(str(definition["type"])):
            problems.append(f"{where}.definition.type: not an IRI")


def statement_problems(statement) -> list[str]:
    """Everything that breaks the xAPI 1.0.3 statement rules (empty list: valid)."""
    problems: list[str] = []
    if not isinstance(statement, dict):
        return ["statement must be an object"]
    for key in set(statement) - STATEMENT_KEYS:
        problems.append(f"unknown property {key!r}")
    for key in ("id", "actor", "verb", "object", "timestamp"):
        if key not in statement:
            problems.append(f"missing {key!r}")
    if "id" in statement and not UUID.match(str(statement["id"])):
        problems.append("id: not a UUID")
    if "actor" in statement:
        _agent(statement["actor"], "actor", problems)
    verb = statement.get("verb", {})
    if not IRI.match(str(verb.get("id", ""))):
        problems.append("verb.id: not an IRI")
    if "display" in verb:
        _language_map(verb["display"], "verb.display", problems)
    obj = statement.get("object", {})
    kind = obj.get("objectType", "Activity")
    if kind == "Activity":
        _activity(obj, "object", problems)
    elif kind == "StatementRef":
        if not UUID.match(str(obj.get("id", ""))):
            problems.append("object.id: a StatementRef needs a UUID")
    else:
        problems.append(f"object.objectType {kind!r} not used by namalms")
    if verb.get("id") == "http://adlnet.gov/expapi/verbs/voided" and kind != "StatementRef":
        problems.append("a voiding statement's object must be a StatementRef")
    if "timestamp" in statement:
        _timestamp(statement["timestamp"], "timestamp", problems)
    result = statement.get("result")
    if result is not None:
        score = result.get("score")
        if score is not None:
            scaled = score.get("scaled")
            if scaled is not None and not (isinstance(scaled, (int, float)) and -1 <= scaled <= 1):
                problems.append(f"result.score.scaled {scaled!r} outside [-1, 1]")
            low, high, raw = score.get("min"), score.get("max"), score.get("raw")
            if low is not None and high is not None and not low < high:
                problems.append("result.score: min must be below max")
            if raw is not None and low is not None and high is not None and not low <= raw <= high:
                problems.append("result.score.raw outside [min, max]")
        for key in ("success", "completion"):
            if key in result and not isinstance(result[key], bool):
                problems.append(f"result.{key}: must be a boolean")
    context = statement.get("context")
    if context is not None:
        if "language" in context and not LANGUAGE_TAG.match(str(context["language"])):
            problems.append("context.language: not an RFC 5646 tag")
        if "registration" in context and not UUID.match(str(context["registration"])):
            problems.append("context.registration: not a UUID")
        for key, items in context.get("contextActivities", {}).items():
            if key not in ("parent", "grouping", "category", "other") or not isinstance(items, list):
                problems.append(f"context.contextActivities.{key}: unknown or not a list")
                continue
            for index, item in enumerate(items):
                _activity(item, f"context.contextActivities.{key}[{index}]", problems)
    return problems
