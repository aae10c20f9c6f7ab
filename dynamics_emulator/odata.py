"""OData query options as Dataverse understands them.

- `parse_query_string` splits a URL query; `+` is a space, as in Dataverse.
- `parse_filter` turns `$filter` text into a small syntax tree. `filter_to_sql` compiles it
  against a table into a SQLite condition over the JSON row bodies; `evaluate` runs it in Python
  over plain dicts (metadata, where there is no table). Both follow SQL three-valued logic, as
  Dataverse does: `ne` does not match rows whose value is null.
- `parse_select`, `parse_orderby`, `parse_expand` validate the other options against a table.
- `Prefer` reads the Prefer header(s); `encode_skiptoken`/`decode_skiptoken` produce and read the
  `$skiptoken` paging cookie; `make_delta_token` the change-tracking token.

Errors are raised as `QueryError(message)`; the Web API answers them with 400.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import urllib.parse
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from .error_codes import PROPERTY_NOT_FOUND, QUERY_ERROR
from .schema import NUMBER_TYPES, TEXT_TYPES, Attribute, Table


class QueryError(ValueError):
    """A query option Dataverse would reject with 400; `code` is its error code."""

    def __init__(self, message: str, code: str = QUERY_ERROR):
        super().__init__(message)
        self.code = code


def parse_query_string(raw: str) -> dict[str, str]:
    """`a=1&b=x+y%2B1` -> {"a": "1", "b": "x y+1"}.

    A literal `+` means a space, as in Dataverse (ASP.NET decodes query strings that way and
    requests encodes spaces in `params` as `+`); a plus sign must be sent as %2B.
    """
    options: dict[str, str] = {}
    for part in raw.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        options[urllib.parse.unquote_plus(name)] = urllib.parse.unquote_plus(value)
    return options


# -- $filter syntax tree ------------------------------------------------------------------------


@dataclass(frozen=True)
class Prop:
    name: str


@dataclass(frozen=True)
class Literal:
    value: object
    kind: str  # null, bool, int, decimal, string, guid, datetime, date, enum


@dataclass(frozen=True)
class Compare:
    op: str  # eq ne gt ge lt le
    left: object
    right: object


@dataclass(frozen=True)
class Logical:
    op: str  # and / or
    left: object
    right: object


@dataclass(frozen=True)
class Not:
    operand: object


@dataclass(frozen=True)
class Call:
    name: str  # contains / startswith / endswith
    args: tuple


COMPARISONS = ("eq", "ne", "gt", "ge", "lt", "le")
FUNCTIONS = ("contains", "startswith", "endswith")
_MIRROR = {"eq": "eq", "ne": "ne", "gt": "lt", "ge": "le", "lt": "gt", "le": "ge"}

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<string>'(?:[^']|'')*')
  | (?P<punct>[(),])
  | (?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)
  | (?P<date>\d{4}-\d{2}-\d{2}\b)
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[mMdDfFlL]?\b)
  | (?P<name>[A-Za-z_][A-Za-z0-9_.]*(?:/[A-Za-z_][A-Za-z0-9_]*)*)
""", re.VERBOSE)


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match:
            raise QueryError(f"Syntax error at position {position} in '{text}'.")
        position = match.end()
        if match.lastgroup != "space":
            tokens.append((match.lastgroup, match.group()))
    return tokens


MAX_DEPTH = 64  # nesting of parentheses and `not`; SQLite refuses very deep expressions
MAX_TERMS = 200  # comparisons and function calls in one expression
_INT64 = 2**63


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0
        self.depth = 0
        self.terms = 0

    def nested(self):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise QueryError(f"The $filter expression is nested more than {MAX_DEPTH} levels.")

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise QueryError(f"Expression expected at position {len(self.text)} in '{self.text}'.")
        self.index += 1
        return token

    def expect(self, value: str) -> None:
        token = self.take()
        if token[1] != value:
            raise QueryError(f"')' or ',' expected near '{token[1]}' in '{self.text}'."
                             if value in "),"
                             else f"'{value}' expected near '{token[1]}' in '{self.text}'.")

    def at_word(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token[0] == "name" and token[1] in words

    def parse(self):
        node = self.parse_or()
        if self.peek() is not None:
            raise QueryError(f"Syntax error at '{self.peek()[1]}' in '{self.text}'.")
        return node

    def parse_or(self):
        node = self.parse_and()
        while self.at_word("or"):
            self.take()
            node = Logical("or", node, self.parse_and())
        return node

    def parse_and(self):
        node = self.parse_not()
        while self.at_word("and"):
            self.take()
            node = Logical("and", node, self.parse_not())
        return node

    def parse_not(self):
        if self.at_word("not"):
            self.take()
            self.nested()
            node = Not(self.parse_not())
            self.depth -= 1
            return node
        return self.parse_comparison()

    def parse_comparison(self):
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise QueryError(f"The $filter expression has more than {MAX_TERMS} conditions.")
        left = self.parse_operand()
        if self.at_word(*COMPARISONS):
            op = self.take()[1]
            return Compare(op, left, self.parse_operand())
        return left

    def parse_operand(self):
        kind, text = self.take()
        if text == "(":
            self.nested()
            node = self.parse_or()
            self.expect(")")
            self.depth -= 1
            return node
        if kind == "string":
            return Literal(text[1:-1].replace("''", "'"), "string")
        if kind == "guid":
            return Literal(text.lower(), "guid")
        if kind == "datetime":
            return Literal(normalize_datetime(text), "datetime")
        if kind == "date":
            return Literal(text, "date")
        if kind == "number":
            number = text.rstrip("mMdDfFlL")
            if re.fullmatch(r"-?\d+", number):
                if not -_INT64 <= int(number) < _INT64:
                    raise QueryError(f"The number '{text}' is out of range.")
                return Literal(int(number), "int")
            return Literal(float(number), "decimal")
        if kind == "name":
            return self.parse_name(text)
        raise QueryError(f"Syntax error at '{text}' in '{self.text}'.")

    def parse_name(self, text: str):
        if text in ("true", "false"):
            return Literal(text == "true", "bool")
        if text == "null":
            return Literal(None, "null")
        following = self.peek()
        if following and following[0] == "string" and "." in text:
            # An enum literal: Microsoft.Dynamics.CRM.AttributeTypeCode'String'
            return Literal(self.take()[1][1:-1], "enum")
        if following and following[1] == "(":
            if text not in FUNCTIONS:
                raise QueryError(f"An unknown function with name '{text}' was found. This may "
                                 "also be a function import or a key lookup on a navigation "
                                 "property, which is not allowed.")
            self.take()
            self.nested()
            args = [self.parse_or()]
            while self.peek() and self.peek()[1] == ",":
                self.take()
                args.append(self.parse_or())
            self.expect(")")
            self.depth -= 1
            if len(args) != 2:
                raise QueryError(f"The function '{text}' takes two arguments.")
            return Call(text, tuple(args))
        return Prop(text)


def parse_filter(text: str):
    """The syntax tree of a `$filter` expression (QueryError when it does not parse)."""
    if not text.strip():
        raise QueryError("The $filter expression is empty.")
    return _Parser(text).parse()


def normalize_datetime(text: str) -> str:
    """An OData DateTimeOffset literal as Dataverse's stored form: UTC, seconds, Z."""
    value = text.replace("Z", "+00:00")
    if re.fullmatch(r".*T\d{2}:\d{2}([+-].*)?", value):  # no seconds: add them
        value = re.sub(r"(T\d{2}:\d{2})", r"\1:00", value)
    if not re.search(r"[+-]\d{2}:\d{2}$", value):
        value += "+00:00"
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as error:
        raise QueryError(f"The DateTimeOffset text '{text}' is not valid.") from error
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- compiling to SQL -----------------------------------------------------------------------------


def column_sql(table: Table, attribute: Attribute) -> str:
    """The SQLite expression reading a column from a stored row."""
    if attribute.name == table.primary_id:
        return "id"  # the indexed key column holds the same value
    return f"json_extract(body, '$.{attribute.wire_name}')"


def _unknown_property(table: Table, name: str) -> QueryError:
    return QueryError(f"Could not find a property named '{name}' on type '{table.type_name}'.",
                      PROPERTY_NOT_FOUND)


def resolve(table: Table, name: str) -> Attribute:
    """The column a query names, by its read name (`_ownerid_value` for lookups)."""
    attribute = table.by_wire.get(name)
    if attribute is None:
        raise _unknown_property(table, name)
    return attribute


_EDM = {"String": "Edm.String", "Memo": "Edm.String", "EntityName": "Edm.String",
        "Integer": "Edm.Int32", "BigInt": "Edm.Int64", "Decimal": "Edm.Decimal",
        "Double": "Edm.Double", "Money": "Edm.Decimal", "Picklist": "Edm.Int32",
        "State": "Edm.Int32", "Status": "Edm.Int32", "Boolean": "Edm.Boolean",
        "DateTime": "Edm.DateTimeOffset", "Uniqueidentifier": "Edm.Guid", "Lookup": "Edm.Guid",
        "Customer": "Edm.Guid", "Owner": "Edm.Guid"}
_LITERAL_EDM = {"string": "Edm.String", "int": "Edm.Int32", "decimal": "Edm.Decimal",
                "bool": "Edm.Boolean", "guid": "Edm.Guid", "datetime": "Edm.DateTimeOffset",
                "date": "Edm.Date", "enum": "Edm.Enum"}


def edm_type(attribute: Attribute) -> str:
    return _EDM.get(attribute.type, "Edm.String")


def _coerce(attribute: Attribute, literal: Literal, op: str):
    """The literal as a value comparable with the stored column (QueryError on a type clash)."""
    kind, value, column_type = literal.kind, literal.value, attribute.type
    accepted = {
        "text": column_type in TEXT_TYPES and kind == "string",
        "number": column_type in NUMBER_TYPES and kind in ("int", "decimal"),
        "bool": column_type == "Boolean" and kind in ("bool", "int"),
        "guid": column_type in ("Uniqueidentifier", "Lookup", "Customer", "Owner")
        and kind in ("guid", "string"),
        "date": column_type == "DateTime" and kind in ("datetime", "date"),
    }
    if not any(accepted.values()):
        raise QueryError(
            "A binary operator with incompatible types was detected. Found operand types "
            f"'{edm_type(attribute)}' and '{_LITERAL_EDM.get(kind, 'Edm.String')}' for operator "
            f"kind '{op}'.")
    if accepted["bool"]:
        return 1 if value else 0
    if accepted["guid"]:
        return str(value).lower()
    if accepted["date"]:
        if attribute.date_only:
            return str(value)[:10]
        return value if kind == "datetime" else f"{value}T00:00:00Z"
    return value


_SQL_OPS = {"eq": "=", "ne": "<>", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}


def filter_to_sql(node, table: Table) -> tuple[str, list]:
    """Compile a filter tree to a SQLite condition over `rows.body` plus its parameters."""
    params: list = []

    def operand_sql(operand) -> tuple[str, Attribute | None]:
        if isinstance(operand, Prop):
            attribute = resolve(table, operand.name)
            return column_sql(table, attribute), attribute
        raise QueryError("A comparison needs a property on one side.")

    def text_collate(attribute: Attribute) -> str:
        return " COLLATE NOCASE" if attribute.type in TEXT_TYPES else ""

    def operands(node: Logical) -> list:
        """`a or b or c` parses as ((a or b) or c); flatten it, or SQLite's parser overflows
        on long chains."""
        found = []
        for side in (node.left, node.right):
            if isinstance(side, Logical) and side.op == node.op:
                found += operands(side)
            else:
                found.append(side)
        return found

    def compile_node(node) -> str:
        if isinstance(node, Logical):
            joined = f" {node.op.upper()} ".join(compile_node(n) for n in operands(node))
            return f"({joined})"
        if isinstance(node, Not):
            return f"(NOT {compile_node(node.operand)})"
        if isinstance(node, Call):
            prop, needle = node.args
            if not isinstance(prop, Prop) or not isinstance(needle, Literal) \
                    or needle.kind != "string":
                raise QueryError(f"{node.name}() takes a property and a string literal.")
            attribute = resolve(table, prop.name)
            if attribute.type not in TEXT_TYPES:
                raise QueryError(f"No function signature for the function with name "
                                 f"'{node.name}' matches the specified arguments.")
            escaped = re.sub(r"([\\%_])", r"\\\1", needle.value)
            pattern = {"contains": f"%{escaped}%", "startswith": f"{escaped}%",
                       "endswith": f"%{escaped}"}[node.name]
            params.append(pattern)
            return f"({column_sql(table, attribute)} LIKE ? ESCAPE '\\')"
        if isinstance(node, Compare):
            left, right, op = node.left, node.right, node.op
            if isinstance(left, Literal) and isinstance(right, Prop):
                left, right, op = right, left, _MIRROR[op]
            if isinstance(right, Prop):
                left_sql, left_attr = operand_sql(left)
                right_sql, _ = operand_sql(right)
                return f"({left_sql} {_SQL_OPS[op]} {right_sql}{text_collate(left_attr)})"
            expression, attribute = operand_sql(left)
            if not isinstance(right, Literal):
                raise QueryError("The right side of a comparison must be a literal or property.")
            if right.kind == "null":
                if op not in ("eq", "ne"):
                    raise QueryError(f"The operator '{op}' cannot be used with null.")
                return f"({expression} IS {'NOT ' if op == 'ne' else ''}NULL)"
            params.append(_coerce(attribute, right, op))
            return f"({expression} {_SQL_OPS[op]} ?{text_collate(attribute)})"
        if isinstance(node, Prop):
            attribute = resolve(table, node.name)
            if attribute.type != "Boolean":
                raise QueryError(f"The $filter expression must evaluate to a single boolean "
                                 f"value; '{node.name}' is not boolean.")
            return f"({column_sql(table, attribute)} = 1)"
        raise QueryError("The $filter expression must evaluate to a single boolean value.")

    return compile_node(node), params


# -- evaluating in Python -----------------------------------------------------------------------


def evaluate(node, item: dict) -> bool | None:
    """Evaluate a filter tree against a dict with SQL's three-valued logic (None = unknown)."""
    if isinstance(node, Logical):
        left, right = evaluate(node.left, item), evaluate(node.right, item)
        if node.op == "and":
            if left is False or right is False:
                return False
            return None if left is None or right is None else True
        if left is True or right is True:
            return True
        return None if left is None or right is None else False
    if isinstance(node, Not):
        value = evaluate(node.operand, item)
        return None if value is None else not value
    if isinstance(node, Call):
        value, needle = (_value(arg, item) for arg in node.args)
        if value is None or needle is None:
            return None
        value, needle = str(value).lower(), str(needle).lower()
        return {"contains": needle in value, "startswith": value.startswith(needle),
                "endswith": value.endswith(needle)}[node.name]
    if isinstance(node, Compare):
        left, right = _value(node.left, item), _value(node.right, item)
        if isinstance(node.right, Literal) and node.right.kind == "null":
            return (left is None) if node.op == "eq" else (left is not None)
        if left is None or right is None:
            return None
        if isinstance(left, str) and isinstance(right, str):
            left, right = left.lower(), right.lower()
        try:
            return {"eq": left == right, "ne": left != right, "gt": left > right,
                    "ge": left >= right, "lt": left < right, "le": left <= right}[node.op]
        except TypeError:
            return False
    if isinstance(node, Prop):
        return bool(_value(node, item))
    raise QueryError("The $filter expression must evaluate to a single boolean value.")


def _value(node, item: dict):
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Prop):
        value = item
        for part in node.name.split("/"):
            value = value.get(part) if isinstance(value, dict) else None
        return value
    raise QueryError("Unsupported expression in $filter.")


# -- $select, $orderby, $expand -----------------------------------------------------------------


def parse_select(text: str | None, table: Table) -> list[Attribute] | None:
    """The selected columns, in request order (None: all columns)."""
    if text is None:
        return None
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise QueryError("The $select query option is empty.")
    if "*" in names:
        return None
    attributes = []
    for name in names:
        if name not in table.by_wire:
            if name in table.navigations or name == table.party_list:
                raise QueryError(f"Property '{name}' on type '{table.type_name}' is a "
                                 "navigation property; use $expand to read it.")
            raise _unknown_property(table, name)
        attribute = table.by_wire[name]
        if attribute not in attributes:
            attributes.append(attribute)
    return attributes


def parse_orderby(text: str | None, table: Table) -> list[tuple[Attribute, bool]]:
    """(column, descending) pairs."""
    if not text:
        return []
    order = []
    for clause in text.split(","):
        parts = clause.split()
        if not parts or len(parts) > 2 or (len(parts) == 2 and parts[1] not in ("asc", "desc")):
            raise QueryError(f"Syntax error in $orderby near '{clause.strip()}'.")
        order.append((resolve(table, parts[0]), len(parts) == 2 and parts[1] == "desc"))
    return order


@dataclass
class Expand:
    """One `$expand` item: a navigation property and the columns to read from its target."""

    name: str
    target: str  # logical name of the target table ("activityparty" for party lists)
    attribute: Attribute | None  # the lookup behind a single-valued navigation property
    select: str | None = None
    collection: bool = False


def split_top_level(text: str, separator: str) -> list[str]:
    parts, depth, current = [], 0, []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == separator and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if depth != 0:
        raise QueryError("Unbalanced parentheses in $expand.")
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]


def parse_expand(text: str | None, table: Table) -> list[Expand]:
    if not text:
        return []
    expands = []
    for item in split_top_level(text, ","):
        name, _, rest = item.partition("(")
        name = name.strip()
        select = None
        if rest:
            if not rest.endswith(")"):
                raise QueryError(f"Syntax error in $expand near '{item}'.")
            for option in split_top_level(rest[:-1], ";"):
                key, _, value = option.partition("=")
                if key.strip() != "$select":
                    raise QueryError(f"The query option '{key.strip()}' is not supported inside "
                                     "$expand by the emulator.")
                select = value
        if name in table.navigations:
            nav = table.navigations[name]
            expands.append(Expand(name, nav.target, nav.attribute, select))
        elif name == table.party_list:
            expands.append(Expand(name, "activityparty", None, select, collection=True))
        else:
            raise QueryError(f"Could not find a property named '{name}' on type "
                             f"'{table.type_name}'.", PROPERTY_NOT_FOUND)
    return expands


# -- Prefer -------------------------------------------------------------------------------------


def _split_preferences(value: str) -> list[str]:
    """Split on commas that are not inside double quotes."""
    parts, current, quoted = [], [], False
    for char in value:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]


@dataclass
class Prefer:
    """The preferences of one request (several Prefer headers are merged)."""

    max_page_size: int | None = None
    max_page_size_requested: int | None = None
    track_changes: bool = False
    return_representation: bool = False
    continue_on_error: bool = False
    annotations: list[str] = field(default_factory=list)
    annotations_raw: str | None = None

    @classmethod
    def parse(cls, values: list[str]) -> Prefer:
        prefer = cls()
        for value in values:
            for item in _split_preferences(value):
                name, _, argument = item.partition("=")
                name, argument = name.strip().lower(), argument.strip().strip('"')
                if name == "odata.maxpagesize":
                    try:
                        requested = int(argument)
                    except ValueError:
                        continue
                    prefer.max_page_size_requested = requested
                    if 0 < requested <= 5000:
                        prefer.max_page_size = requested
                elif name == "odata.track-changes":
                    prefer.track_changes = True
                elif name == "return":
                    prefer.return_representation = argument.lower() == "representation"
                elif name == "odata.continue-on-error":
                    prefer.continue_on_error = argument.lower() != "false"
                elif name == "odata.include-annotations":
                    prefer.annotations_raw = argument
                    prefer.annotations = [p.strip() for p in argument.split(",") if p.strip()]
        return prefer

    def wants(self, annotation: str) -> bool:
        """Whether `odata.include-annotations` asks for this annotation."""
        wanted = False
        for pattern in self.annotations:
            negate = pattern.startswith("-")
            pattern = pattern.lstrip("-")
            if pattern == "*" or pattern == annotation or (
                    pattern.endswith(".*") and annotation.startswith(pattern[:-1])):
                wanted = not negate
        return wanted


FORMATTED = "OData.Community.Display.V1.FormattedValue"
LOOKUP_LOGICAL_NAME = "Microsoft.Dynamics.CRM.lookuplogicalname"
ASSOCIATED_NAVIGATION = "Microsoft.Dynamics.CRM.associatednavigationproperty"
TOTAL_COUNT = "Microsoft.Dynamics.CRM.totalrecordcount"
TOTAL_COUNT_EXCEEDED = "Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded"


# -- paging cookie ------------------------------------------------------------------------------


@dataclass
class PageState:
    """Where the next page starts. `key` is the keyset of the last row served; tracking reads
    also carry the version bounds of the snapshot they page through."""

    page: int
    key: list | None = None
    last_id: str | None = None
    first_id: str | None = None
    tracking: dict | None = None  # {"since": int, "until": int, "phase": str, "after": int}


def encode_skiptoken(state: PageState, primary_id: str) -> str:
    """The `$skiptoken` value: Dataverse's `<cookie pagenumber=.. pagingcookie=.. />` shape.

    The inner cookie names the last and first primary keys like Dataverse's does; the keyset
    and change-tracking position ride along in extra elements. Clients must treat it as opaque.
    """
    inner = ET.Element("cookie", page=str(state.page - 1))
    if state.last_id:
        ET.SubElement(inner, primary_id, last="{" + state.last_id.upper() + "}",
                      first="{" + (state.first_id or state.last_id).upper() + "}")
    if state.key is not None:
        encoded = base64.urlsafe_b64encode(json.dumps(state.key).encode()).decode()
        ET.SubElement(inner, "keyset", value=encoded)
    if state.tracking is not None:
        ET.SubElement(inner, "tracking", {k: str(v) for k, v in state.tracking.items()})
    inner_text = urllib.parse.quote(ET.tostring(inner, encoding="unicode"), safe="")
    outer = ET.Element("cookie", pagenumber=str(state.page), pagingcookie=inner_text,
                       istracking=str(state.tracking is not None))
    return ET.tostring(outer, encoding="unicode")


def decode_skiptoken(text: str) -> PageState:
    try:
        outer = ET.fromstring(text)
        inner = ET.fromstring(urllib.parse.unquote(outer.attrib["pagingcookie"]))
        state = PageState(page=int(outer.attrib["pagenumber"]))
        for element in inner:
            if element.tag == "keyset":
                state.key = json.loads(base64.urlsafe_b64decode(element.attrib["value"]))
            elif element.tag == "tracking":
                tracking = dict(element.attrib)
                state.tracking = {"since": int(tracking["since"]), "until": int(tracking["until"]),
                                  "phase": tracking["phase"], "after": int(tracking["after"])}
            elif "last" in element.attrib:
                state.last_id = element.attrib["last"].strip("{}").lower()
                state.first_id = element.attrib.get("first", "").strip("{}").lower() or None
        return state
    except (ET.ParseError, KeyError, ValueError, TypeError) as error:
        raise QueryError("The $skiptoken value is not valid. Use the @odata.nextLink returned "
                         "by the previous page without changing it.") from error


def make_delta_token(version: int, moment: dt.datetime) -> str:
    """Dataverse's delta token shape, e.g. `919042!08/22/2017 08:10:44`."""
    return f"{version}!{moment.astimezone(dt.UTC).strftime('%m/%d/%Y %H:%M:%S')}"
