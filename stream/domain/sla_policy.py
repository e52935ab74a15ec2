"""The SLA policy file (CONTRACT §3): calendars and ordered policies, first match wins.

The file is read with `yaml.compose`, not `yaml.safe_load`: nodes keep their line and column, so
every problem is reported where it is (`policy.yaml:12:5: ...`), and scalars keep their source
text, so YAML 1.1 implicit typing never turns `no`, `08:00` or `2026-12-24` into something else.
All problems are collected in one pass; nothing is built unless there are none.

Decisions beyond the contract:
- The last policy should match everything. If it does not, the file still loads, with a *warning*
  (`PolicyBook.warnings`, also returned by `validate_policy_text`): conversations that match no
  policy get no SLA clocks, `PolicyBook.find` returns None and `PolicyBook.choose` raises
  `NoPolicyError`. A policy placed after a catch-all can never match: that is an *error*.
- A policy without `match` matches everything, like an empty one; a key with an empty list would
  match nothing and is an error. A single string is accepted where a list is expected.
- A policy without `calendar` uses the built-in `24x7`, which cannot be redefined.
- Each weekday may be set by one `weekly` key only (`mon-fri` and `fri` together is an error),
  so there is no question of whether a later key adds to or replaces an earlier one. Ranges run
  forward (`mon-fri`, not `sat-mon`; write `sat,sun,mon`).
- Holidays are `YYYY-MM-DD`, or inclusive ranges `YYYY-MM-DD..YYYY-MM-DD` of at most 366 days.
- `warn_before`: `25%` or `0.25` is a fraction of each target (0–100 %); a duration such as `10m`
  is the same for every target of the policy. Default 25 %.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Final, Literal

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from stream.domain.calendar import (
    CALENDAR_24X7,
    WEEKDAYS,
    BusinessCalendar,
    Hours,
    load_zone,
)
from stream.domain.durations import format_duration, parse_duration
from stream.domain.events import CHANNELS, PRIORITIES

Target = Literal["first_response", "next_response", "resolution"]
TARGETS: Final[tuple[Target, ...]] = ("first_response", "next_response", "resolution")
MATCH_KEYS: Final = ("channel", "priority", "queue", "request_type", "conversation")
# What is being timed: a live chat or a ticket (a converted chat is a ticket of channel chat).
CONVERSATIONS: Final = ("ticket", "chat")
DEFAULT_WARN_FRACTION: Final = 0.25
MAX_HOLIDAY_RANGE_DAYS: Final = 366

_TOP_KEYS: Final = ("calendars", "policies")
_CALENDAR_KEYS: Final = ("timezone", "weekly", "holidays")
_POLICY_KEYS: Final = ("name", "match", "calendar", "targets", "warn_before")
_ALLOWED_VALUES: Final[dict[str, tuple[str, ...]]] = {
    "channel": CHANNELS, "priority": PRIORITIES, "conversation": CONVERSATIONS
}
_NULL_TAG: Final = "tag:yaml.org,2002:null"
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%", re.ASCII)
_FRACTION = re.compile(r"\d+(?:\.\d+)?|\.\d+", re.ASCII)


class PolicyError(Exception):
    """One problem in a policy file; `str()` is `FILE:LINE:COLUMN: message` (1-based).

    Line and column 0 mean the problem concerns the whole file (it could not be read).
    """

    def __init__(
        self,
        message: str,
        line: int,
        column: int,
        filename: str = "policy.yaml",
        severity: Literal["error", "warning"] = "error",
    ) -> None:
        super().__init__(message, line, column)
        self.message = message
        self.line = line
        self.column = column
        self.filename = filename
        self.severity: Literal["error", "warning"] = severity

    @property
    def is_warning(self) -> bool:
        return self.severity == "warning"

    def __str__(self) -> str:
        where = f"{self.filename}:{self.line}:{self.column}" if self.line else self.filename
        kind = "warning: " if self.is_warning else ""
        return f"{where}: {kind}{self.message}"

    def __repr__(self) -> str:
        return f"PolicyError({self.message!r}, {self.line}, {self.column}, {self.severity!r})"


class PolicyFileError(Exception):
    """A policy file that cannot be used; `errors` lists every problem (warnings excluded)."""

    def __init__(self, errors: Sequence[PolicyError]) -> None:
        self.errors: list[PolicyError] = list(errors)
        super().__init__("\n".join(str(error) for error in self.errors))


class NoPolicyError(LookupError):
    """No policy matches a conversation (the policy list has no catch-all)."""


@dataclass(frozen=True)
class WarnBefore:
    """How long before a deadline a target turns *at risk*: a fraction of it, or a duration."""

    fraction: float | None = DEFAULT_WARN_FRACTION
    seconds: float | None = None

    @classmethod
    def parse(cls, text: str) -> WarnBefore:
        """`25%`, `0.25` or `10m` → WarnBefore; ValueError otherwise."""
        stripped = text.strip()
        percent = _PERCENT.fullmatch(stripped)
        if percent is not None or _FRACTION.fullmatch(stripped):
            value = float(percent[1]) / 100 if percent is not None else float(stripped)
            if not 0 <= value <= 1:
                raise ValueError(
                    f"warn_before {text!r} is not between 0% and 100% "
                    "(for a duration give a unit, such as 10m)"
                )
            return cls(fraction=value)
        try:
            return cls(fraction=None, seconds=parse_duration(stripped))
        except ValueError:
            raise ValueError(
                f"invalid warn_before {text!r}: expected a fraction of the target such as 25% "
                "or 0.25, or a duration such as 10m"
            ) from None

    def warn_seconds(self, target_seconds: float) -> float:
        if self.fraction is not None:
            return self.fraction * target_seconds
        return self.seconds or 0.0

    def __str__(self) -> str:
        if self.fraction is not None:
            return f"{self.fraction * 100:g}%"
        return format_duration(self.seconds or 0.0)


@dataclass(frozen=True)
class Match:
    """Allowed values per attribute; None = any value (an absent key)."""

    channel: frozenset[str] | None = None
    priority: frozenset[str] | None = None
    queue: frozenset[str] | None = None
    request_type: frozenset[str] | None = None
    conversation: frozenset[str] | None = None  # extension: `ticket` or `chat`

    @property
    def is_catch_all(self) -> bool:
        return all(
            allowed is None
            for allowed in (
                self.channel, self.priority, self.queue, self.request_type, self.conversation
            )
        )

    def matches(
        self,
        channel: str,
        priority: str,
        queue: str | None,
        request_type: str | None,
        conversation: str | None = None,
    ) -> bool:
        return (
            _allows(self.channel, channel)
            and _allows(self.priority, priority)
            and _allows(self.queue, queue)
            and _allows(self.request_type, request_type)
            and _allows(self.conversation, conversation)
        )


@dataclass(frozen=True)
class Policy:
    name: str
    calendar: BusinessCalendar
    targets: dict[str, float]  # target name → budget in business seconds of `calendar`
    warn_before: WarnBefore = field(default_factory=WarnBefore)
    match: Match = field(default_factory=Match)
    line: int = 0  # where the policy starts in its file, for messages

    def warn_seconds(self, target_seconds: float) -> float:
        """Wall seconds before a deadline at which a target of `target_seconds` is at risk."""
        return self.warn_before.warn_seconds(target_seconds)


@dataclass(frozen=True)
class PolicyBook:
    calendars: Mapping[str, BusinessCalendar]
    policies: tuple[Policy, ...]
    warnings: tuple[PolicyError, ...] = ()

    def find(
        self,
        channel: str,
        priority: str,
        queue: str | None = None,
        request_type: str | None = None,
        conversation: str | None = None,
    ) -> Policy | None:
        """The first policy matching, or None."""
        for policy in self.policies:
            if policy.match.matches(channel, priority, queue, request_type, conversation):
                return policy
        return None

    def choose(
        self,
        channel: str,
        priority: str,
        queue: str | None = None,
        request_type: str | None = None,
        conversation: str | None = None,
    ) -> Policy:
        """The first policy matching; NoPolicyError when none does."""
        policy = self.find(channel, priority, queue, request_type, conversation)
        if policy is None:
            raise NoPolicyError(
                f"no SLA policy matches channel={channel!r} priority={priority!r} "
                f"queue={queue!r} request_type={request_type!r} conversation={conversation!r}"
            )
        return policy

    def policy(self, name: str) -> Policy:
        for policy in self.policies:
            if policy.name == name:
                return policy
        raise KeyError(name)


def validate_policy_text(text: str, filename: str = "policy.yaml") -> list[PolicyError]:
    """Every error and warning in `text`, in file order. Never raises on bad input."""
    parser = _Parser(filename)
    parser.parse(text)
    return sorted(
        parser.problems, key=lambda problem: (problem.line, problem.column, problem.is_warning)
    )


def parse_policy_text(text: str, filename: str = "policy.yaml") -> PolicyBook:
    """The PolicyBook in `text`; PolicyFileError listing every error otherwise."""
    parser = _Parser(filename)
    book = parser.parse(text)
    errors = [problem for problem in parser.problems if not problem.is_warning]
    if book is None or errors:
        raise PolicyFileError(sorted(errors, key=lambda error: (error.line, error.column)))
    return book


def load_policy_book(path: str | Path) -> PolicyBook:
    """Read and parse a policy file; PolicyFileError (with every error) when it is unusable."""
    filename = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyFileError([PolicyError(f"cannot read: {exc}", 0, 0, filename)]) from exc
    return parse_policy_text(text, filename)


# --- parsing ----------------------------------------------------------------------------------


class _Parser:
    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.problems: list[PolicyError] = []

    def error(self, node: Node, message: str) -> None:
        mark = node.start_mark
        self.error_at(mark.line + 1, mark.column + 1, message)

    def error_at(self, line: int, column: int, message: str) -> None:
        self.problems.append(PolicyError(message, line, column, self.filename))

    def warn(self, node: Node, message: str) -> None:
        mark = node.start_mark
        self.problems.append(
            PolicyError(message, mark.line + 1, mark.column + 1, self.filename, "warning")
        )

    def parse(self, text: str) -> PolicyBook | None:
        root = self._compose(text)
        if root is None:
            return None
        top = self.mapping(root, "the policy file", _TOP_KEYS)
        if top is None:
            return None
        calendars, known = self.calendars(top.get("calendars"))
        policies_node = top.get("policies")
        if policies_node is None:
            self.error(root, "missing 'policies': the file needs at least one policy")
            return None
        policies = self.policies(policies_node[1], calendars, known)
        if policies is None or any(not problem.is_warning for problem in self.problems):
            return None
        return PolicyBook(
            calendars={CALENDAR_24X7.name: CALENDAR_24X7, **calendars},
            policies=tuple(policies),
            warnings=tuple(problem for problem in self.problems if problem.is_warning),
        )

    def _compose(self, text: str) -> Node | None:
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            message = f"invalid YAML: {exc.problem or exc}"
            if exc.context and exc.context_mark is not None and exc.context_mark is not mark:
                start = exc.context_mark
                message += f" ({exc.context} at line {start.line + 1}, column {start.column + 1})"
            self.error_at(line, column, message)
            return None
        except yaml.YAMLError as exc:  # a ReaderError: characters YAML does not allow
            position = getattr(exc, "position", None)
            line, column = _line_column(text, position) if isinstance(position, int) else (1, 1)
            reason = getattr(exc, "reason", None) or str(exc)
            self.error_at(line, column, f"invalid YAML: {reason}")
            return None
        except RecursionError:
            self.error_at(1, 1, "invalid YAML: nested too deeply")
            return None
        if root is None:
            self.error_at(1, 1, "the policy file is empty")
        return root

    # --- generic node helpers ---------------------------------------------------------------

    def mapping(
        self, node: Node, what: str, allowed: Sequence[str] | None = None
    ) -> dict[str, tuple[ScalarNode, Node]] | None:
        """Key text → (key node, value node); reports non-mappings, duplicates, unknown keys."""
        if not isinstance(node, MappingNode):
            self.error(node, f"{what} must be a mapping (key: value)")
            return None
        entries: dict[str, tuple[ScalarNode, Node]] = {}
        for key, value in node.value:
            if not isinstance(key, ScalarNode):
                self.error(key, f"keys in {what} must be plain text")
                continue
            name = str(key.value)
            if name in entries:
                first = entries[name][0].start_mark.line + 1
                self.error(key, f"duplicate key {name!r} in {what} (first at line {first})")
                continue
            if allowed is not None and name not in allowed:
                expected = ", ".join(allowed)
                self.error(key, f"unknown key {name!r} in {what} (expected one of {expected})")
                continue
            entries[name] = (key, value)
        return entries

    def text(self, node: Node, what: str) -> str | None:
        if not isinstance(node, ScalarNode) or _is_null(node):
            self.error(node, f"{what} must be a single value")
            return None
        value = str(node.value)
        if not value.strip():
            self.error(node, f"{what} must not be empty")
            return None
        return value

    def texts(self, node: Node, what: str) -> list[tuple[str, Node]] | None:
        """A list of values (a single value counts as a one-element list)."""
        items: list[Node]
        if isinstance(node, SequenceNode):
            items = list(node.value)
        elif isinstance(node, ScalarNode) and not _is_null(node):
            items = [node]
        else:
            hint = ""
            if _is_null(node) and node.start_mark.line == node.end_mark.line:
                hint = " (in a {...} mapping, quote keys that contain commas: 'sat,sun')"
            self.error(node, f"{what} must be a list of values{hint}")
            return None
        found: list[tuple[str, Node]] = []
        for item in items:
            value = self.text(item, f"each entry of {what}")
            if value is not None:
                found.append((value.strip(), item))
        return found

    # --- calendars --------------------------------------------------------------------------

    def calendars(
        self, entry: tuple[ScalarNode, Node] | None
    ) -> tuple[dict[str, BusinessCalendar], set[str]]:
        """Valid calendars by name, and the names of all calendars defined (valid or not)."""
        built: dict[str, BusinessCalendar] = {}
        known: set[str] = set()
        if entry is None or _is_null(entry[1]):
            return built, known
        section = self.mapping(entry[1], "calendars")
        for name, (key, value) in (section or {}).items():
            if name == CALENDAR_24X7.name:
                self.error(key, f"calendar {name!r} is built in and cannot be redefined")
                continue
            known.add(name)
            calendar = self.calendar(name, key, value)
            if calendar is not None:
                built[name] = calendar
        return built, known

    def calendar(self, name: str, key: ScalarNode, node: Node) -> BusinessCalendar | None:
        what = f"calendar {name!r}"
        fields = self.mapping(node, what, _CALENDAR_KEYS)
        if fields is None:
            return None
        before = len(self.problems)
        timezone: str | None = None
        if "timezone" not in fields:
            self.error(key, f"{what} needs a timezone (an IANA name such as Europe/Prague)")
        else:
            timezone = self.text(fields["timezone"][1], "timezone")
            if timezone is not None:
                try:
                    load_zone(timezone)
                except ValueError as exc:
                    self.error(fields["timezone"][1], str(exc))
        weekly: dict[int, list[Hours]] = {}
        if "weekly" not in fields:
            self.error(key, f"{what} needs weekly opening hours, such as mon-fri: [08:00-20:00]")
        else:
            weekly = self.weekly(what, fields["weekly"][1])
        holidays: list[date] = []
        if "holidays" in fields and not _is_null(fields["holidays"][1]):
            holidays = self.holidays(fields["holidays"][1])
        if len(self.problems) > before or timezone is None:
            return None
        try:
            return BusinessCalendar(name, timezone, weekly, holidays)
        except ValueError as exc:
            self.error(key, str(exc))
            return None

    def weekly(self, what: str, node: Node) -> dict[int, list[Hours]]:
        before = len(self.problems)
        days = self.mapping(node, f"weekly hours of {what}")
        if days is None:
            return {}
        weekly: dict[int, list[Hours]] = {}
        set_by: dict[int, ScalarNode] = {}
        for spec, (key, value) in days.items():
            try:
                weekdays = parse_weekdays(spec)
            except ValueError as exc:
                self.error(key, str(exc))
                continue
            parsed: list[tuple[Hours, Node]] = []
            for text, item in self.texts(value, f"hours for {spec!r}") or []:
                try:
                    parsed.append((Hours.parse(text), item))
                except ValueError as exc:
                    self.error(item, str(exc))
            # A weekday is set by one key only, so overlaps can only be within this key's list.
            parsed.sort(key=lambda pair: pair[0])
            for (earlier, _), (later, later_node) in pairwise(parsed):
                if later.start < earlier.end:
                    self.error(later_node, f"overlapping hours {earlier} and {later} on {spec}")
            for weekday in weekdays:
                if weekday in set_by:
                    other = set_by[weekday]
                    self.error(
                        key,
                        f"{WEEKDAYS[weekday]} is already set by {other.value!r} "
                        f"(line {other.start_mark.line + 1})",
                    )
                    continue
                set_by[weekday] = key
                weekly[weekday] = [hours for hours, _ in parsed]
        if len(self.problems) == before and not any(weekly.values()):
            self.error(node, f"{what} has no opening hours: its deadlines would never arrive")
        return weekly

    def holidays(self, node: Node) -> list[date]:
        found: list[date] = []
        for text, item in self.texts(node, "holidays") or []:
            try:
                found.extend(parse_holidays(text))
            except ValueError as exc:
                self.error(item, str(exc))
        return found

    # --- policies ---------------------------------------------------------------------------

    def policies(
        self, node: Node, calendars: Mapping[str, BusinessCalendar], known: set[str]
    ) -> list[Policy] | None:
        if not isinstance(node, SequenceNode) or not node.value:
            self.error(node, "'policies' must be a non-empty list of policies")
            return None
        policies: list[Policy] = []
        names: dict[str, int] = {}
        catch_all: str | None = None
        last_is_catch_all: bool | None = False
        for item in node.value:
            if catch_all is not None:
                self.error(
                    item,
                    f"this policy can never match: {catch_all} above matches everything "
                    "(first match wins)",
                )
            policy, is_catch_all = self.policy(item, calendars, known, names)
            last_is_catch_all = is_catch_all
            if is_catch_all and catch_all is None:
                catch_all = _policy_label(item)
            if policy is not None:
                policies.append(policy)
        # None: the last match is invalid (reported already), so whether it is total is unknown.
        if last_is_catch_all is False:
            last = node.value[-1]
            self.warn(
                last,
                "the last policy does not match everything: conversations that match no policy "
                "get no SLA clocks (end with a catch-all policy, match: {})",
            )
        return policies

    def policy(
        self,
        node: Node,
        calendars: Mapping[str, BusinessCalendar],
        known: set[str],
        names: dict[str, int],
    ) -> tuple[Policy | None, bool | None]:
        fields = self.mapping(node, "a policy", _POLICY_KEYS)
        if fields is None:
            return None, None
        before = len(self.problems)
        name: str | None = None
        if "name" not in fields:
            self.error(node, "the policy needs a name")
        else:
            name = self.text(fields["name"][1], "the policy name")
            if name is not None and name in names:
                first = names[name]
                self.error(
                    fields["name"][1], f"duplicate policy name {name!r} (first at line {first})"
                )
            elif name is not None:
                names[name] = node.start_mark.line + 1
        match: Match | None = Match()
        if "match" in fields:
            match = self.match(fields["match"][1])
        # An invalid match is not a catch-all, or the policies below would be reported too.
        is_catch_all = None if match is None else match.is_catch_all
        calendar = CALENDAR_24X7
        if "calendar" in fields:
            calendar = self.policy_calendar(fields["calendar"][1], calendars, known) or calendar
        targets: dict[str, float] = {}
        if "targets" not in fields:
            self.error(node, "the policy needs targets, such as {first_response: 4h}")
        else:
            targets = self.targets(fields["targets"][1])
        warn_before = WarnBefore()
        if "warn_before" in fields:
            value = self.text(fields["warn_before"][1], "warn_before")
            if value is not None:
                try:
                    warn_before = WarnBefore.parse(value)
                except ValueError as exc:
                    self.error(fields["warn_before"][1], str(exc))
        if len(self.problems) > before or name is None or match is None:
            return None, is_catch_all
        policy = Policy(
            name=name,
            calendar=calendar,
            targets=targets,
            warn_before=warn_before,
            match=match,
            line=node.start_mark.line + 1,
        )
        return policy, is_catch_all

    def match(self, node: Node) -> Match | None:
        if _is_null(node):
            return Match()
        before = len(self.problems)
        fields = self.mapping(node, "match", MATCH_KEYS)
        if fields is None:
            return None
        allowed: dict[str, frozenset[str]] = {}
        for key_name, (key, value) in fields.items():
            values = self.texts(value, key_name)
            if values is None:
                continue
            if not values and isinstance(value, SequenceNode):
                self.error(
                    key,
                    f"an empty {key_name} list matches nothing (leave the key out to match all)",
                )
                continue
            expected = _ALLOWED_VALUES.get(key_name)
            for text, item in values:
                if expected is not None and text not in expected:
                    self.error(
                        item,
                        f"unknown {key_name} {text!r} (expected one of {', '.join(expected)})",
                    )
            allowed[key_name] = frozenset(text for text, _ in values)
        if len(self.problems) > before:
            return None
        return Match(
            channel=allowed.get("channel"),
            priority=allowed.get("priority"),
            queue=allowed.get("queue"),
            request_type=allowed.get("request_type"),
            conversation=allowed.get("conversation"),
        )

    def policy_calendar(
        self, node: Node, calendars: Mapping[str, BusinessCalendar], known: set[str]
    ) -> BusinessCalendar | None:
        name = self.text(node, "calendar")
        if name is None:
            return None
        if name == CALENDAR_24X7.name:
            return CALENDAR_24X7
        if name in calendars:
            return calendars[name]
        if name not in known:  # a defined but broken calendar was reported already
            defined = ", ".join([CALENDAR_24X7.name, *sorted(known)])
            self.error(node, f"unknown calendar {name!r} (defined: {defined})")
        return None

    def targets(self, node: Node) -> dict[str, float]:
        fields = self.mapping(node, "targets")
        if fields is None:
            return {}
        if not fields:
            self.error(node, "the policy needs at least one target, such as first_response: 4h")
        budgets: dict[str, float] = {}
        for target, (key, value) in fields.items():
            if target not in TARGETS:
                self.error(key, f"unknown target {target!r} (expected one of {', '.join(TARGETS)})")
                continue
            text = self.text(value, f"target {target}")
            if text is None:
                continue
            try:
                seconds = parse_duration(text)
            except ValueError as exc:
                self.error(value, str(exc))
                continue
            if seconds <= 0:
                self.error(value, f"target {target} must be longer than 0s")
                continue
            budgets[target] = seconds
        return budgets


# --- small parsers (public: the CLI and tests use them) ---------------------------------------


def parse_weekdays(spec: str) -> list[int]:
    """`mon`, `mon-fri`, `sat,sun`, `mon-wed,fri` → weekday numbers (0 = Monday)."""
    days: list[int] = []
    for part in spec.split(","):
        token = part.strip().lower()
        if "-" in token:
            first, _, last = token.partition("-")
            start, end = _weekday(first.strip(), spec), _weekday(last.strip(), spec)
            if end < start:
                raise ValueError(
                    f"weekday range {part.strip()!r} runs backwards: write it as a list "
                    f"such as {','.join(WEEKDAYS[start:] + WEEKDAYS[: end + 1])}"
                )
            days.extend(range(start, end + 1))
        else:
            days.append(_weekday(token, spec))
    duplicates = sorted({WEEKDAYS[day] for day in days if days.count(day) > 1})
    if duplicates:
        raise ValueError(f"weekday key {spec!r} names {', '.join(duplicates)} twice")
    return days


def parse_holidays(text: str) -> list[date]:
    """`2026-12-24` or the inclusive range `2026-12-24..2026-12-26` → dates."""
    first, sep, last = text.strip().partition("..")
    start = _date(first.strip(), text)
    if not sep:
        return [start]
    end = _date(last.strip(), text)
    if end < start:
        raise ValueError(f"holiday range {text!r} ends before it starts")
    days = (end - start).days + 1
    if days > MAX_HOLIDAY_RANGE_DAYS:
        raise ValueError(f"holiday range {text!r} is longer than {MAX_HOLIDAY_RANGE_DAYS} days")
    return [start + timedelta(days=offset) for offset in range(days)]


def _weekday(token: str, spec: str) -> int:
    if token not in WEEKDAYS:
        where = "" if token == spec.strip().lower() else f" in {spec!r}"
        raise ValueError(
            f"unknown weekday {token!r}{where} (expected mon, tue, wed, thu, fri, sat, sun, "
            "a range such as mon-fri or a list such as sat,sun)"
        )
    return WEEKDAYS.index(token)


def _policy_label(node: Node) -> str:
    if isinstance(node, MappingNode):
        for key, value in node.value:
            if (
                isinstance(key, ScalarNode)
                and key.value == "name"
                and isinstance(value, ScalarNode)
            ):
                return repr(str(value.value))
    return f"the policy at line {node.start_mark.line + 1}"


def _date(token: str, text: str) -> date:
    if _DATE.fullmatch(token):
        try:
            return date.fromisoformat(token)
        except ValueError:
            pass
    raise ValueError(f"invalid holiday {text!r}: expected a date YYYY-MM-DD or a range A..B")


def _allows(allowed: frozenset[str] | None, value: str | None) -> bool:
    return allowed is None or (value is not None and value in allowed)


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _NULL_TAG


def _line_column(text: str, position: int) -> tuple[int, int]:
    before = text[:position]
    return before.count("\n") + 1, position - (before.rfind("\n") + 1) + 1
