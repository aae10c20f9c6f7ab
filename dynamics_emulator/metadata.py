"""Which tables the org has right now, and the metadata API that describes them.

`Catalog` answers "does this table exist, does it track changes, and which options does a choice
column offer": the LinkedIn solution can be uninstalled, change tracking switched per table, the
options of a choice column changed (as an admin customizes an option set), and the
`missing_tables` fault hides tables.

`MetadataApi` serves `EntityDefinitions` (with `$select`, `$filter`, `$expand=Attributes`),
`EntityDefinitions(LogicalName='x')/Attributes` with the type casts
(`/Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$expand=OptionSet`, `MoneyAttributeMetadata`
...), single attributes, `GlobalOptionSetDefinitions(Name='x')` and the CSDL `$metadata`
document. Metadata queries are not paged, as in Dataverse.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from xml.sax.saxutils import escape, quoteattr

from . import odata
from .metadata_shapes import (
    CAST_PREFIX,
    ENTITY_NAVIGATIONS,
    ENTITY_PROPERTIES,
    ENUM_TYPE,
    METADATA_TYPES,
    OPTION_SET_NAVIGATIONS,
    RELATIONSHIP_PROPERTIES,
    attribute_json,
    entity_json,
    option_set_json,
    properties_of,
    relationship_json,
    type_of,
)
from .odata import QueryError
from .schema import (
    LINKEDIN_TABLES,
    TABLES,
    TABLES_BY_NAME,
    TABLES_BY_SET,
    UNEMULATED_TARGETS,
    Attribute,
    Option,
    Table,
    metadata_id,
)
from .wire import (
    NOT_FOUND,
    QUERY_ERROR,
    DataverseError,
    Request,
    Response,
    json_response,
    property_not_found,
    segment_not_found,
)


class Catalog:
    """The org's current set of tables, their change-tracking switches and changed option sets."""

    def __init__(self, store, faults):
        self._store = store
        self._faults = faults
        self._lock = threading.Lock()
        self.linkedin_installed: bool = store.get_meta("linkedin_installed", True)
        defaults = {t.logical_name: t.change_tracking for t in TABLES}
        self._tracking: dict[str, bool] = defaults | store.get_meta("change_tracking", {})
        # "opportunity.salesstage" -> [[value, label], ...]: choice columns whose options an
        # admin changed; the others offer their seeded options.
        self._options: dict[str, list[list]] = store.get_meta("options", {})

    def is_visible(self, table: Table) -> bool:
        if table.solution == "linkedin" and not self.linkedin_installed:
            return False
        return table.logical_name not in self._faults.missing_tables()

    def tables(self) -> list[Table]:
        return [table for table in TABLES if self.is_visible(table)]

    def by_set(self, entity_set: str) -> Table | None:
        table = TABLES_BY_SET.get(entity_set)
        return table if table and self.is_visible(table) else None

    def by_name(self, logical_name: str) -> Table | None:
        table = TABLES_BY_NAME.get(logical_name)
        return table if table and self.is_visible(table) else None

    def tracks_changes(self, table: Table) -> bool:
        with self._lock:
            return self._tracking.get(table.logical_name, False)

    def set_change_tracking(self, logical_name: str, enabled: bool) -> None:
        if logical_name not in TABLES_BY_NAME:
            raise KeyError(logical_name)
        with self._lock:
            self._tracking[logical_name] = enabled
            tracking = dict(self._tracking)
        self._store.set_meta("change_tracking", tracking)

    def attribute(self, table: Table, attribute: Attribute) -> Attribute:
        """The column as the org has it now: a choice column offers its current options."""
        with self._lock:
            changed = self._options.get(f"{table.logical_name}.{attribute.name}")
        if changed is None:
            return attribute
        return dataclasses.replace(
            attribute, options=tuple(Option(value, text) for value, text in changed))

    def attributes(self, table: Table) -> list[Attribute]:
        return [self.attribute(table, attribute) for attribute in table.attributes]

    def options(self, table: Table, attribute: Attribute) -> list[dict]:
        return [{"value": option.value, "label": option.label}
                for option in self.attribute(table, attribute).options]

    def set_options(self, table: Table, attribute: Attribute, options: list | None) -> None:
        """Replace the options of a choice (picklist) column, or restore the seeded ones (None).

        ``options`` is ``[{"value": 4, "label": "Negotiate"}, ...]`` in display order. Rows keep
        their stored values, as in Dynamics when an option is removed from an option set.
        """
        if attribute.type != "Picklist":
            raise ValueError(f"{table.logical_name}.{attribute.name} is not a choice column")
        key = f"{table.logical_name}.{attribute.name}"
        if options is not None:
            pairs = [_option_pair(option) for option in options]
            if not pairs:
                raise ValueError("a choice column needs at least one option")
            if len({value for value, _ in pairs}) != len(pairs):
                raise ValueError("option values must be unique")
        with self._lock:
            if options is None:
                self._options.pop(key, None)
            else:
                self._options[key] = pairs
            changed = dict(self._options)
        self._store.set_meta("options", changed)

    def set_linkedin_installed(self, installed: bool) -> None:
        """Install or uninstall the LinkedIn solution. Uninstalling loses the rows of its tables,
        as it does in Dynamics."""
        if not installed and self.linkedin_installed:
            for name in LINKEDIN_TABLES:
                self._store.delete_entity(name)
        self.linkedin_installed = installed
        self._store.set_meta("linkedin_installed", installed)

    def reset(self) -> None:
        with self._lock:
            self._tracking = {t.logical_name: t.change_tracking for t in TABLES}
            self._options = {}
        self.linkedin_installed = True
        self._store.set_meta("change_tracking", self._tracking)
        self._store.set_meta("linkedin_installed", True)
        self._store.set_meta("options", {})


def _option_pair(option) -> list:
    """``{"value": 4, "label": "Negotiate"}`` as ``[4, "Negotiate"]``, or ValueError."""
    if not isinstance(option, dict):
        raise ValueError('each option is {"value": <integer>, "label": "<text>"}')
    value, text = option.get("value"), option.get("label")
    if isinstance(value, bool) or not isinstance(value, int) or not -2**31 <= value < 2**31:
        raise ValueError(f"option value {value!r} is not an integer")
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"option {value} has no label")
    return [value, text.strip()]


# -- the API --------------------------------------------------------------------------------------

_KEY = re.compile(r"^(?:LogicalName='(?P<name>[^']*)'|(?P<id>[0-9a-fA-F-]{36}))$")
_ENTITY_PATH = re.compile(
    r"^EntityDefinitions(?:\((?P<key>[^)]*)\))?(?:/(?P<rest>.*))?$")
_ATTRIBUTE_PATH = re.compile(
    r"^Attributes(?:\((?P<key>[^)]*)\))?(?:/(?P<cast>[A-Za-z.]+))?$")
_CASTS = {f"{CAST_PREFIX}{name}" for name, _ in METADATA_TYPES.values()} | {
    f"{CAST_PREFIX}AttributeMetadata", f"{CAST_PREFIX}{ENUM_TYPE}"}
_RELATIONSHIPS = ("ManyToOneRelationships", "OneToManyRelationships", "ManyToManyRelationships")
# EntityKeyMetadata: the org has no alternate keys, so `Keys` is always empty.
_KEY_PROPERTIES = {"MetadataId", "HasChanged", "LogicalName", "SchemaName", "DisplayName",
                   "EntityLogicalName", "KeyAttributes", "IsCustomizable", "IsManaged",
                   "IntroducedVersion", "EntityKeyIndexStatus", "AsyncJob", "IsExportKey",
                   "IsSecondaryKey", "IsSynchronous"}


def _not_found(message: str) -> DataverseError:
    return DataverseError(404, NOT_FOUND, message)


def _matches_cast(attribute: Attribute, cast: str | None) -> bool:
    if cast is None or cast == f"{CAST_PREFIX}AttributeMetadata":
        return True
    if cast == f"{CAST_PREFIX}{ENUM_TYPE}":
        return attribute.type in ("Picklist", "State", "Status")
    return cast == CAST_PREFIX + type_of(attribute)


def _select(item: dict, select: str | None, allowed: set[str] | frozenset[str],
            type_name: str) -> dict:
    """Keep the selected properties (and what Dataverse always returns with them); a name that
    `type_name` does not have is Dataverse's 400."""
    if not select:
        return item
    names = [name.strip() for name in select.split(",") if name.strip()]
    for name in names:
        if name not in allowed:
            raise property_not_found(name, CAST_PREFIX + type_name)
    keep = {"@odata.type", "MetadataId", *ENTITY_NAVIGATIONS, *names}
    return {key: value for key, value in item.items() if key in keep}


def _options(text: str) -> dict[str, str]:
    """`$select=a,b;$filter=x eq 1` (the options inside `$expand=Name(...)`)."""
    options = {}
    for option in odata.split_top_level(text, ";"):
        key, _, value = option.partition("=")
        options[key.strip()] = value.strip()
    return options


def _expansions(expand: str | None, type_name: str, allowed: tuple[str, ...]
                ) -> dict[str, dict[str, str]]:
    """`$expand=Attributes($select=LogicalName),Keys` -> {"Attributes": {"$select": ...}, ...}"""
    expansions: dict[str, dict[str, str]] = {}
    for item in odata.split_top_level(expand or "", ","):
        name, _, rest = item.partition("(")
        name = name.strip()
        if name not in allowed:
            raise property_not_found(name, CAST_PREFIX + type_name)
        if rest and not rest.endswith(")"):
            raise QueryError(f"Syntax error in $expand near '{item}'.")
        options = _options(rest[:-1]) if rest else {}
        for key in options:
            if key not in ("$select", "$filter"):
                raise QueryError(f"The query option '{key}' is not supported inside $expand by "
                                 "the emulator.")
        expansions[name] = options
    return expansions


def _filtered(items: list[tuple[dict, dict]], filter_text: str | None) -> list[dict]:
    """Apply `$filter` to (full item, rendered item) pairs; return the rendered ones."""
    if not filter_text:
        return [rendered for _, rendered in items]
    tree = odata.parse_filter(filter_text)
    return [rendered for full, rendered in items if odata.evaluate(tree, full) is True]


class MetadataApi:
    """GET handlers for the metadata part of the Web API."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self._csdl_cache: dict[tuple, bytes] = {}

    def _table(self, key: str) -> Table:
        match = _KEY.match(key)
        if not match:
            raise DataverseError(400, QUERY_ERROR, f"Bad key in 'EntityDefinitions({key})'.")
        if match.group("name") is not None:
            table = self.catalog.by_name(match.group("name"))
        else:
            wanted = match.group("id").lower()
            table = next((t for t in self.catalog.tables()
                          if metadata_id("entity", t.logical_name) == wanted), None)
        if table is None:
            raise _not_found(f"Could not find an entity with specified key '{key}'.")
        return table

    def handle(self, request: Request, relative: str) -> Response:
        base = f"{request.base_url}/api/data/v9.2"
        query = request.query
        if relative.startswith("GlobalOptionSetDefinitions"):
            return self._global_option_set(relative, base)
        match = _ENTITY_PATH.match(relative)
        if not match:
            raise segment_not_found(relative)
        select = query.get("$select")
        if match.group("key") is None:
            if match.group("rest"):
                raise DataverseError(400, QUERY_ERROR, "A key is required before "
                                     f"'{match.group('rest')}'.")
            items = [(entity_json(t, self.catalog.tracks_changes(t)), t)
                     for t in self.catalog.tables()]
            rendered = [(full, self._entity(table, full, query)) for full, table in items]
            context = f"{base}/$metadata#EntityDefinitions" + (f"({select})" if select else "")
            return json_response(200, {"@odata.context": context,
                                       "value": _filtered(rendered, query.get("$filter"))})
        table = self._table(match.group("key"))
        rest = match.group("rest")
        if not rest:
            item = self._entity(table, entity_json(table, self.catalog.tracks_changes(table)),
                                query)
            context = f"{base}/$metadata#EntityDefinitions"
            context += f"({select})/$entity" if select else "/$entity"
            return json_response(200, {"@odata.context": context, **item})
        if rest in _RELATIONSHIPS or rest == "Keys":
            context = f"{base}/$metadata#EntityDefinitions('{table.logical_name}')/{rest}"
            items = self._navigation(table, rest, query)
            return json_response(200, {"@odata.context": context, "value": items})
        return self._attributes(table, rest, query, base)

    def _entity(self, table: Table, item: dict, query: dict) -> dict:
        """One EntityMetadata with `$select` and `$expand` applied."""
        expansions = _expansions(query.get("$expand"), "EntityMetadata", ENTITY_NAVIGATIONS)
        item = _select(item, query.get("$select"), set(ENTITY_PROPERTIES), "EntityMetadata")
        for name, options in expansions.items():
            item[name] = self._navigation(table, name, options)
        return item

    def _navigation(self, table: Table, name: str, options: dict) -> list[dict]:
        """The items of one collection-valued navigation property of EntityMetadata."""
        if name == "Attributes":
            pairs = [(attribute_json(table, a), a) for a in self.catalog.attributes(table)]
            allowed, type_name = properties_of("AttributeMetadata"), "AttributeMetadata"
        elif name == "Keys":
            pairs, allowed, type_name = [], _KEY_PROPERTIES, "EntityKeyMetadata"
        else:
            pairs = [(item, None) for item in self._relationships(table, name)]
            allowed = RELATIONSHIP_PROPERTIES
            type_name = ("ManyToManyRelationshipMetadata" if name == "ManyToManyRelationships"
                         else "OneToManyRelationshipMetadata")
        select = options.get("$select")
        return _filtered([(full, _select(full, select, allowed, type_name))
                          for full, _ in pairs], options.get("$filter"))

    def _relationships(self, table: Table, name: str) -> list[dict]:
        """1:N relationships from the lookup columns: ManyToOne are this table's own lookups,
        OneToMany the other tables' lookups to it. No N:N relationships are modelled."""
        if name == "ManyToOneRelationships":
            return [relationship_json(table, a, nav, target)
                    for a in table.attributes for nav, target in a.navs]
        if name == "OneToManyRelationships":
            return [relationship_json(other, a, nav, target)
                    for other in self.catalog.tables() for a in other.attributes
                    for nav, target in a.navs if target == table.logical_name]
        return []

    def _attributes(self, table: Table, rest: str, query: dict, base: str) -> Response:
        match = _ATTRIBUTE_PATH.match(rest)
        if not match:
            raise segment_not_found(rest)
        cast = match.group("cast")
        if cast is not None and cast not in _CASTS:
            raise segment_not_found(cast)
        type_name = cast[len(CAST_PREFIX):] if cast else "AttributeMetadata"
        allowed = properties_of(type_name)
        navigations = OPTION_SET_NAVIGATIONS if type_name in (
            "PicklistAttributeMetadata", "StateAttributeMetadata", "StatusAttributeMetadata",
            "BooleanAttributeMetadata", ENUM_TYPE) else ()
        expand = _expansions(query.get("$expand"), type_name, navigations)

        def render(attribute: Attribute) -> dict:
            item = _select(attribute_json(table, attribute), query.get("$select"), allowed,
                           type_name)
            option_set = option_set_json(table, attribute)
            for name in expand:
                if name == "GlobalOptionSet":
                    item["GlobalOptionSet"] = option_set if attribute.global_option_set else None
                else:
                    item["OptionSet"] = option_set
            return item

        context = f"{base}/$metadata#EntityDefinitions('{table.logical_name}')/Attributes"
        if cast:
            context += f"/{cast}"
        key = match.group("key")
        if key is not None:
            key_match = re.fullmatch(r"LogicalName='([^']*)'|([0-9a-fA-F-]{36})", key)
            if not key_match:
                raise DataverseError(400, QUERY_ERROR, f"Bad key in 'Attributes({key})'.")
            attribute = next(
                (a for a in self.catalog.attributes(table)
                 if a.name == key_match.group(1) or
                 metadata_id("attribute", table.logical_name, a.name) == (key_match.group(2) or
                                                                        "").lower()), None)
            if attribute is None or not _matches_cast(attribute, cast):
                raise _not_found(f"Could not find an attribute with specified key '{key}' on "
                                 f"entity '{table.logical_name}'.")
            return json_response(200, {"@odata.context": context + "/$entity",
                                       **render(attribute)})
        tree = odata.parse_filter(query["$filter"]) if "$filter" in query else None
        items = []
        for attribute in self.catalog.attributes(table):
            if not _matches_cast(attribute, cast):
                continue
            if tree is not None and odata.evaluate(tree, attribute_json(table, attribute)) \
                    is not True:
                continue
            items.append(render(attribute))
        return json_response(200, {"@odata.context": context, "value": items})

    def _global_option_set(self, relative: str, base: str) -> Response:
        match = re.fullmatch(r"GlobalOptionSetDefinitions\(Name='([^']*)'\)", relative)
        if not match:
            raise segment_not_found(relative)
        for table in self.catalog.tables():
            for attribute in self.catalog.attributes(table):
                if attribute.global_option_set and attribute.option_set == match.group(1):
                    item = option_set_json(table, attribute)
                    return json_response(200, {
                        "@odata.context": f"{base}/$metadata#GlobalOptionSetDefinitions/$entity",
                        "@odata.type": "#Microsoft.Dynamics.CRM.OptionSetMetadata", **item})
        raise _not_found(f"Could not find optionset with name '{match.group(1)}'.")

    # -- CSDL ------------------------------------------------------------------------------------

    def csdl(self) -> bytes:
        tables = self.catalog.tables()
        key = tuple((t.logical_name, self.catalog.tracks_changes(t)) for t in tables)
        if key not in self._csdl_cache:
            self._csdl_cache[key] = _render_csdl(tables, dict(key)).encode()
        return self._csdl_cache[key]


_CSDL_TYPES = {"String": "Edm.String", "Memo": "Edm.String", "EntityName": "Edm.String",
               "Integer": "Edm.Int32", "BigInt": "Edm.Int64", "Decimal": "Edm.Decimal",
               "Double": "Edm.Double", "Money": "Edm.Decimal", "Boolean": "Edm.Boolean",
               "DateTime": "Edm.DateTimeOffset", "Picklist": "Edm.Int32", "State": "Edm.Int32",
               "Status": "Edm.Int32", "Uniqueidentifier": "Edm.Guid", "Lookup": "Edm.Guid",
               "Customer": "Edm.Guid", "Owner": "Edm.Guid"}


def _render_csdl(tables: list[Table], tracking: dict[str, bool]) -> str:
    """A small CSDL: entity types with keys, properties and navigation properties, the
    container with entity sets (change tracking annotated), and WhoAmI."""
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">',
        "<edmx:DataServices>",
        '<Schema Namespace="Microsoft.Dynamics.CRM" Alias="mscrm" '
        'xmlns="http://docs.oasis-open.org/odata/ns/edm">',
        '<EntityType Name="crmbaseentity" Abstract="true"/>',
        '<EntityType Name="activityparty" BaseType="mscrm.crmbaseentity">'
        '<Key><PropertyRef Name="activitypartyid"/></Key>'
        '<Property Name="activitypartyid" Type="Edm.Guid"/>'
        '<Property Name="participationtypemask" Type="Edm.Int32"/>'
        '<Property Name="_partyid_value" Type="Edm.Guid"/></EntityType>',
    ]
    for name, label_text in UNEMULATED_TARGETS.items():
        lines.append(f'<EntityType Name="{name}" BaseType="mscrm.crmbaseentity">'
                     f'<Key><PropertyRef Name="{name}id"/></Key>'
                     f'<Property Name="{name}id" Type="Edm.Guid"/></EntityType>'
                     f"<!-- {escape(label_text)}: not emulated as a table -->")
    for table in tables:
        lines.append(f'<EntityType Name="{table.logical_name}" BaseType="mscrm.crmbaseentity">')
        lines.append(f'<Key><PropertyRef Name="{table.primary_id}"/></Key>')
        for attribute in table.attributes:
            lines.append(f"<Property Name={quoteattr(attribute.wire_name)} "
                         f'Type="{_CSDL_TYPES[attribute.type]}"/>')
        for nav_name, nav in table.navigations.items():
            lines.append(f'<NavigationProperty Name="{nav_name}" Type="mscrm.{nav.target}" '
                         'Nullable="true"/>')
        if table.party_list:
            lines.append(f'<NavigationProperty Name="{table.party_list}" '
                         'Type="Collection(mscrm.activityparty)"/>')
        lines.append("</EntityType>")
    lines += [
        '<ComplexType Name="WhoAmIResponse"><Property Name="BusinessUnitId" Type="Edm.Guid" '
        'Nullable="false"/><Property Name="UserId" Type="Edm.Guid" Nullable="false"/>'
        '<Property Name="OrganizationId" Type="Edm.Guid" Nullable="false"/></ComplexType>',
        '<Function Name="WhoAmI"><ReturnType Type="mscrm.WhoAmIResponse" Nullable="false"/>'
        "</Function>",
        '<EntityContainer Name="System">',
    ]
    for table in tables:
        lines.append(f'<EntitySet Name="{table.entity_set}" '
                     f'EntityType="mscrm.{table.logical_name}">')
        if tracking.get(table.logical_name):
            lines.append('<Annotation Term="Org.OData.Capabilities.V1.ChangeTracking"><Record>'
                         '<PropertyValue Property="Supported" Bool="true"/></Record></Annotation>')
        lines.append("</EntitySet>")
    lines += ['<FunctionImport Name="WhoAmI" Function="mscrm.WhoAmI"/>', "</EntityContainer>",
              "</Schema>", "</edmx:DataServices>", "</edmx:Edmx>"]
    return "\n".join(lines)
