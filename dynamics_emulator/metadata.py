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
from .wire import NOT_FOUND, QUERY_ERROR, DataverseError, Request, Response, json_response


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


# -- JSON shapes ----------------------------------------------------------------------------------


def label(text: str, *parts: str) -> dict:
    """Dataverse's Label complex type with one en-US label."""
    localized = {"Label": text, "LanguageCode": 1033, "IsManaged": True,
                 "MetadataId": metadata_id("label", text, *parts), "HasChanged": None}
    return {"LocalizedLabels": [localized] if text else [],
            "UserLocalizedLabel": localized if text else None}


def _schema_name(name: str) -> str:
    if name.startswith(("li_", "new_", "msdyn_")):
        return name
    return name[:1].upper() + name[1:]


def entity_json(table: Table, tracks_changes: bool) -> dict:
    return {
        "MetadataId": metadata_id("entity", table.logical_name),
        "LogicalName": table.logical_name,
        "SchemaName": _schema_name(table.logical_name),
        "EntitySetName": table.entity_set,
        "LogicalCollectionName": table.entity_set,
        "CollectionSchemaName": _schema_name(table.entity_set),
        "PrimaryIdAttribute": table.primary_id,
        "PrimaryNameAttribute": table.primary_name,
        "ObjectTypeCode": table.object_type_code,
        "OwnershipType": table.ownership,
        "IsActivity": table.is_activity,
        "IsCustomEntity": table.custom,
        "IsManaged": True,
        # Microsoft's SDK lists tables with `$filter=IsPrivate eq false` (tables.list()).
        "IsPrivate": False,
        "IsValidForAdvancedFind": True,
        "ChangeTrackingEnabled": tracks_changes,
        "TableType": "Standard",
        "IntroducedVersion": "1.0" if table.custom else "5.0.0.0",
        "DisplayName": label(table.label, table.logical_name),
        "DisplayCollectionName": label(table.collection_label, table.logical_name, "plural"),
        "Description": label(table.description, table.logical_name, "description"),
    }


# AttributeType -> (metadata type name used in casts and @odata.type, AttributeTypeName)
_METADATA_TYPES = {
    "String": ("StringAttributeMetadata", "StringType"),
    "Memo": ("MemoAttributeMetadata", "MemoType"),
    "Integer": ("IntegerAttributeMetadata", "IntegerType"),
    "BigInt": ("BigIntAttributeMetadata", "BigIntType"),
    "Decimal": ("DecimalAttributeMetadata", "DecimalType"),
    "Double": ("DoubleAttributeMetadata", "DoubleType"),
    "Money": ("MoneyAttributeMetadata", "MoneyType"),
    "Boolean": ("BooleanAttributeMetadata", "BooleanType"),
    "DateTime": ("DateTimeAttributeMetadata", "DateTimeType"),
    "Picklist": ("PicklistAttributeMetadata", "PicklistType"),
    "State": ("StateAttributeMetadata", "StateType"),
    "Status": ("StatusAttributeMetadata", "StatusType"),
    "Lookup": ("LookupAttributeMetadata", "LookupType"),
    "Customer": ("LookupAttributeMetadata", "CustomerType"),
    "Owner": ("LookupAttributeMetadata", "OwnerType"),
    "Uniqueidentifier": ("UniqueIdentifierAttributeMetadata", "UniqueidentifierType"),
    "EntityName": ("EntityNameAttributeMetadata", "EntityNameType"),
}
CAST_PREFIX = "Microsoft.Dynamics.CRM."
_CASTS = {f"{CAST_PREFIX}{name}" for name, _ in _METADATA_TYPES.values()} | {
    f"{CAST_PREFIX}AttributeMetadata", f"{CAST_PREFIX}EnumAttributeMetadata"}


def _matches_cast(attribute: Attribute, cast: str | None) -> bool:
    if cast is None or cast == f"{CAST_PREFIX}AttributeMetadata":
        return True
    if cast == f"{CAST_PREFIX}EnumAttributeMetadata":
        return attribute.type in ("Picklist", "State", "Status")
    return cast == CAST_PREFIX + _METADATA_TYPES[attribute.type][0]


def attribute_json(table: Table, attribute: Attribute) -> dict:
    type_name, type_code_name = _METADATA_TYPES[attribute.type]
    result = {
        "@odata.type": f"#{CAST_PREFIX}{type_name}",
        "MetadataId": metadata_id("attribute", table.logical_name, attribute.name),
        "LogicalName": attribute.name,
        "SchemaName": _schema_name(attribute.name),
        "EntityLogicalName": table.logical_name,
        "AttributeType": attribute.type,
        "AttributeTypeName": {"Value": type_code_name},
        "AttributeOf": attribute.base_of,
        "IsCustomAttribute": attribute.custom,
        "IsPrimaryId": attribute.name == table.primary_id,
        "IsPrimaryName": attribute.name == table.primary_name,
        "IsValidForCreate": attribute.writable,
        "IsValidForUpdate": attribute.writable and attribute.name != table.primary_id,
        "IsValidForRead": True,
        "RequiredLevel": {"Value": "None", "CanBeChanged": True,
                          "ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings"},
        "DisplayName": label(attribute.label, table.logical_name, attribute.name),
        "Description": label(attribute.description, table.logical_name, attribute.name, "d"),
    }
    if attribute.type in ("String", "Memo"):
        result["MaxLength"] = attribute.max_length
        result["Format"] = "Text" if attribute.type == "String" else "TextArea"
    elif attribute.type == "Money":
        result.update(Precision=2, PrecisionSource=2, IsBaseCurrency=attribute.base_of is not None,
                      MinValue=-922337203685477.0, MaxValue=922337203685477.0)
    elif attribute.type == "Integer":
        result.update(MinValue=-2147483648, MaxValue=2147483647, Format="None")
    elif attribute.type == "DateTime":
        result.update(Format="DateOnly" if attribute.date_only else "DateAndTime",
                      DateTimeBehavior={"Value": "DateOnly" if attribute.date_only
                                        else "UserLocal"})
    elif attribute.is_lookup:
        result["Targets"] = list(attribute.targets)
    elif attribute.type in ("Picklist", "State", "Status"):
        result["DefaultFormValue"] = -1 if attribute.type == "Picklist" else None
        result["OptionSetName"] = attribute.option_set
    return result


def option_set_json(table: Table, attribute: Attribute) -> dict | None:
    if attribute.type not in ("Picklist", "State", "Status", "Boolean"):
        return None
    name = attribute.option_set or f"{table.logical_name}_{attribute.name}"
    base = {
        "MetadataId": metadata_id("optionset", name),
        "HasChanged": None,
        "IsCustomOptionSet": attribute.custom,
        "IsGlobal": attribute.global_option_set,
        "IsManaged": True,
        "Name": name,
        "ExternalTypeName": None,
        "OptionSetType": "Boolean" if attribute.type == "Boolean" else attribute.type,
        "IntroducedVersion": "5.0.0.0",
        "Description": label("", name),
        "DisplayName": label(attribute.label, name),
    }

    def option(opt) -> dict:
        result = {"Value": opt.value, "Color": None, "IsManaged": True, "ExternalValue": "",
                  "ParentValues": [], "Tag": None, "IsHidden": False, "MetadataId": None,
                  "HasChanged": None, "Label": label(opt.label, name, str(opt.value)),
                  "Description": label("", name, str(opt.value))}
        if attribute.type == "State":
            result.update(DefaultStatus=opt.default_status, InvariantName=opt.label)
        if attribute.type == "Status":
            result.update(State=opt.state, TransitionData=None)
        return result

    if attribute.type == "Boolean":
        base.update(FalseOption=option(attribute.options[0]),
                    TrueOption=option(attribute.options[1]))
    else:
        base["Options"] = [option(opt) for opt in attribute.options]
    return base


# -- the API --------------------------------------------------------------------------------------

_KEY = re.compile(r"^(?:LogicalName='(?P<name>[^']*)'|(?P<id>[0-9a-fA-F-]{36}))$")
_ENTITY_PATH = re.compile(
    r"^EntityDefinitions(?:\((?P<key>[^)]*)\))?(?:/(?P<rest>.*))?$")
_ATTRIBUTE_PATH = re.compile(
    r"^Attributes(?:\((?P<key>[^)]*)\))?(?:/(?P<cast>[A-Za-z.]+))?$")


def _not_found(message: str) -> DataverseError:
    return DataverseError(404, NOT_FOUND, message)


def _select(item: dict, select: str | None, type_name: str) -> dict:
    """Keep the selected properties (and what Dataverse always returns with them)."""
    if not select:
        return item
    names = [name.strip() for name in select.split(",") if name.strip()]
    for name in names:
        if name not in item:
            raise DataverseError(400, QUERY_ERROR, f"Could not find a property named '{name}' on "
                                 f"type 'Microsoft.Dynamics.CRM.{type_name}'.")
    keep = {"@odata.type", "MetadataId", "Attributes", *names}
    return {key: value for key, value in item.items() if key in keep}


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
            raise DataverseError(404, QUERY_ERROR,
                                 f"Resource not found for the segment '{relative}'.")
        if match.group("key") is None:
            if match.group("rest"):
                raise DataverseError(400, QUERY_ERROR, "A key is required before "
                                     f"'{match.group('rest')}'.")
            return self._entities(query, base)
        table = self._table(match.group("key"))
        rest = match.group("rest")
        if not rest:
            item = self._entity_with_expand(table, query)
            item = _select(item, query.get("$select"), "EntityMetadata")
            context = f"{base}/$metadata#EntityDefinitions"
            select = query.get("$select")
            context += f"({select})/$entity" if select else "/$entity"
            return json_response(200, {"@odata.context": context, **item})
        return self._attributes(table, rest, query, base)

    def _entity_with_expand(self, table: Table, query: dict) -> dict:
        item = entity_json(table, self.catalog.tracks_changes(table))
        expand = query.get("$expand")
        if expand:
            name, _, inner = expand.partition("(")
            if name.strip() != "Attributes":
                raise DataverseError(400, QUERY_ERROR, f"Could not find a property named "
                                     f"'{name.strip()}' on type "
                                     "'Microsoft.Dynamics.CRM.EntityMetadata'.")
            select = None
            if inner:
                option = inner.rstrip(")")
                key, _, value = option.partition("=")
                if key.strip() == "$select":
                    select = value
            item["Attributes"] = [_select(attribute_json(table, a), select, "AttributeMetadata")
                                  for a in self.catalog.attributes(table)]
        return item

    def _entities(self, query: dict, base: str) -> Response:
        tree = odata.parse_filter(query["$filter"]) if "$filter" in query else None
        items = []
        for table in self.catalog.tables():
            item = self._entity_with_expand(table, query)
            if tree is not None and odata.evaluate(tree, item) is not True:
                continue
            items.append(_select(item, query.get("$select"), "EntityMetadata"))
        select = query.get("$select")
        context = f"{base}/$metadata#EntityDefinitions" + (f"({select})" if select else "")
        return json_response(200, {"@odata.context": context, "value": items})

    def _attributes(self, table: Table, rest: str, query: dict, base: str) -> Response:
        match = _ATTRIBUTE_PATH.match(rest)
        if not match:
            raise DataverseError(404, QUERY_ERROR, f"Resource not found for the segment '{rest}'.")
        cast = match.group("cast")
        if cast is not None and cast not in _CASTS:
            raise DataverseError(404, QUERY_ERROR, f"Resource not found for the segment '{cast}'.")
        expand = odata.split_top_level(query.get("$expand") or "", ",")
        for name in expand:
            if name.split("(")[0] not in ("OptionSet", "GlobalOptionSet"):
                raise DataverseError(400, QUERY_ERROR, "Could not find a property named "
                                     f"'{name}' on type "
                                     "'Microsoft.Dynamics.CRM.AttributeMetadata'.")

        def render(attribute: Attribute) -> dict:
            item = attribute_json(table, attribute)
            type_name = _METADATA_TYPES[attribute.type][0]
            item = _select(item, query.get("$select"), type_name)
            for name in expand:
                option_set = option_set_json(table, attribute)
                if name.startswith("GlobalOptionSet"):
                    item["GlobalOptionSet"] = option_set if attribute.global_option_set else None
                elif option_set is not None or cast:
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
            raise DataverseError(404, QUERY_ERROR,
                                 f"Resource not found for the segment '{relative}'.")
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
