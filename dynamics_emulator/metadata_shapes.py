"""What `EntityDefinitions` answers: every documented property of the metadata types, in tables.

Sources: the Web API metadata reference pages, `EntityMetadata EntityType`,
`AttributeMetadata EntityType` and its derived types (`StringAttributeMetadata`,
`PicklistAttributeMetadata`, `LookupAttributeMetadata`, `MoneyAttributeMetadata`, ...),
`OneToManyRelationshipMetadata EntityType`, and the complex types `Label`, `LocalizedLabel` and
`BooleanManagedProperty` (learn.microsoft.com/power-apps/developer/data-platform/webapi/reference/
entitymetadata and its siblings).

Each table maps a property name to its value for one table or column: a constant (the default
where the org has no meaning for it), a `Managed(...)` managed property, or a function of the
`Table` / `Attribute` (and, for tables, whether change tracking is on). `$select` accepts exactly
the names in the table of the type being asked for, so a documented property always answers and
anything else is Dataverse's 400.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .schema import TABLES_BY_NAME, Attribute, Table, metadata_id

CAST_PREFIX = "Microsoft.Dynamics.CRM."


@dataclass(frozen=True)
class Managed:
    """A BooleanManagedProperty (or another managed property): `{"Value", "CanBeChanged",
    "ManagedPropertyLogicalName"}`. `value` may be a function of the table or column."""

    value: Any
    logical_name: str
    can_be_changed: bool = True


def label(text: str, *parts: str) -> dict:
    """Dataverse's Label complex type with one en-US LocalizedLabel."""
    localized = {"Label": text, "LanguageCode": 1033, "IsManaged": True,
                 "MetadataId": metadata_id("label", text, *parts), "HasChanged": None}
    return {"LocalizedLabels": [localized] if text else [],
            "UserLocalizedLabel": localized if text else None}


def schema_name(name: str) -> str:
    if name.startswith(("li_", "new_", "msdyn_")):
        return name
    return name[:1].upper() + name[1:]


def _render(spec: dict[str, Any], *subject: Any) -> dict:
    item = {}
    for name, value in spec.items():
        if isinstance(value, Managed):
            inner = value.value(*subject) if callable(value.value) else value.value
            item[name] = {"Value": inner, "CanBeChanged": value.can_be_changed,
                          "ManagedPropertyLogicalName": value.logical_name}
        elif callable(value):
            item[name] = value(*subject)
        else:
            item[name] = value
    return item


# -- EntityMetadata -------------------------------------------------------------------------------

_Entity = Callable[[Table, bool], Any]


def _by_table(getter: Callable[[Table], Any]) -> _Entity:
    return lambda table, _tracking: getter(table)


ENTITY_PROPERTIES: dict[str, Any] = {
    "MetadataId": _by_table(lambda t: metadata_id("entity", t.logical_name)),
    "HasChanged": None,
    "ActivityTypeMask": _by_table(lambda t: 1 if t.is_activity else 0),
    "AutoCreateAccessTeams": False,
    "AutoRouteToOwnerQueue": False,
    "CanBeInCustomEntityAssociation": Managed(True, "canbeincustomentityassociation"),
    "CanBeInManyToMany": Managed(True, "canbeinmanytomany"),
    "CanBePrimaryEntityInRelationship": Managed(True, "canbeprimaryentityinrelationship"),
    "CanBeRelatedEntityInRelationship": Managed(True, "canberelatedentityinrelationship"),
    "CanChangeHierarchicalRelationship": Managed(False, "canchangehierarchicalrelationship"),
    "CanChangeTrackingBeEnabled": Managed(True, "canchangetrackingbeenabled"),
    "CanCreateAttributes": Managed(True, "cancreateattributes"),
    "CanCreateCharts": Managed(True, "cancreatecharts"),
    "CanCreateForms": Managed(True, "cancreateforms"),
    "CanCreateViews": Managed(True, "cancreateviews"),
    "CanEnableSyncToExternalSearchIndex": Managed(True, "canenablesynctoexternalsearchindex"),
    "CanModifyAdditionalSettings": Managed(True, "canmodifyadditionalsettings"),
    "CanTriggerWorkflow": True,
    "ChangeTrackingEnabled": lambda _table, tracking: tracking,
    "CollectionSchemaName": _by_table(lambda t: schema_name(t.entity_set)),
    "CreatedOn": "2020-01-01T00:00:00Z",
    "DataProviderId": None,
    "DataSourceId": None,
    "DaysSinceRecordLastModified": 0,
    "Description": _by_table(lambda t: label(t.description, t.logical_name, "description")),
    "DisplayCollectionName": _by_table(
        lambda t: label(t.collection_label, t.logical_name, "plural")),
    "DisplayName": _by_table(lambda t: label(t.label, t.logical_name)),
    "EnforceStateTransitions": False,
    "EntityColor": None,
    "EntityHelpUrl": None,
    "EntityHelpUrlEnabled": False,
    "EntitySetName": _by_table(lambda t: t.entity_set),
    "ExternalCollectionName": None,
    "ExternalName": None,
    "HasActivities": _by_table(lambda t: not t.is_activity and t.logical_name != "systemuser"),
    "HasEmailAddresses": _by_table(
        lambda t: any(a.name.startswith("emailaddress") for a in t.attributes)),
    "HasFeedback": False,
    "HasNotes": _by_table(lambda t: t.logical_name != "annotation"),
    "IconLargeName": None,
    "IconMediumName": None,
    "IconSmallName": None,
    "IconVectorName": None,
    "IntroducedVersion": _by_table(lambda t: "1.0" if t.custom else "5.0.0.0"),
    "IsActivity": _by_table(lambda t: t.is_activity),
    "IsActivityParty": _by_table(
        lambda t: t.logical_name in ("account", "contact", "lead", "systemuser")),
    "IsAIRUpdated": True,
    "IsArchivalEnabled": False,
    "IsAuditEnabled": Managed(False, "canmodifyauditsettings"),
    "IsAvailableOffline": True,
    "IsBPFEntity": False,
    "IsBusinessProcessEnabled": _by_table(lambda t: not t.custom),
    "IsChildEntity": False,
    "IsConnectionsEnabled": Managed(True, "canmodifyconnectionsettings"),
    "IsCustomEntity": _by_table(lambda t: t.custom),
    "IsCustomizable": Managed(True, "iscustomizable"),
    "IsDocumentManagementEnabled": False,
    "IsDocumentRecommendationsEnabled": False,
    "IsDuplicateDetectionEnabled": Managed(True, "canmodifyduplicatedetectionsettings"),
    "IsEnabledForCharts": True,
    "IsEnabledForExternalChannels": False,
    "IsEnabledForTrace": False,
    "IsImportable": True,
    "IsInteractionCentricEnabled": False,
    "IsIntersect": False,
    "IsKnowledgeManagementEnabled": False,
    "IsLogicalEntity": False,
    "IsMailMergeEnabled": Managed(True, "canmodifymailmergesettings"),
    "IsManaged": True,
    "IsMappable": Managed(True, "ismappable"),
    "IsMSTeamsIntegrationEnabled": False,
    "IsOfflineInMobileClient": Managed(False, "canmodifymobileclientoffline"),
    "IsOneNoteIntegrationEnabled": False,
    "IsOptimisticConcurrencyEnabled": True,
    "IsPrivate": False,
    "IsQuickCreateEnabled": _by_table(lambda t: not t.is_activity),
    "IsReadingPaneEnabled": True,
    "IsReadOnlyInMobileClient": Managed(False, "canmodifymobileclientreadonly"),
    "IsRenameable": Managed(True, "isrenameable"),
    "IsRetentionEnabled": False,
    "IsRetrieveAuditEnabled": False,
    "IsRetrieveMultipleAuditEnabled": False,
    "IsSLAEnabled": False,
    "IsSolutionAware": False,
    "IsStateModelAware": _by_table(lambda t: "statecode" in t.by_name),
    "IsValidForAdvancedFind": True,
    "IsValidForQueue": Managed(False, "canmodifyqueuesettings"),
    "IsVisibleInMobile": Managed(True, "canmodifymobilevisibility"),
    "IsVisibleInMobileClient": Managed(True, "canmodifymobileclientvisibility"),
    "LogicalCollectionName": _by_table(lambda t: t.entity_set),
    "LogicalName": _by_table(lambda t: t.logical_name),
    "MobileOfflineFilters": "",
    "ModifiedOn": "2020-01-01T00:00:00Z",
    "ObjectTypeCode": _by_table(lambda t: t.object_type_code),
    "OwnerId": None,
    "OwnerIdType": 8,
    "OwningBusinessUnit": None,
    "OwnershipType": _by_table(lambda t: t.ownership),
    "PrimaryIdAttribute": _by_table(lambda t: t.primary_id),
    "PrimaryImageAttribute": None,
    "PrimaryNameAttribute": _by_table(lambda t: t.primary_name),
    "Privileges": _by_table(lambda t: _privileges(t)),
    "RecurrenceBaseEntityLogicalName": None,
    "ReportViewName": _by_table(lambda t: f"Filtered{schema_name(t.logical_name)}"),
    "SchemaName": _by_table(lambda t: schema_name(t.logical_name)),
    "SettingOf": None,
    "Settings": [],
    "SyncToExternalSearchIndex": False,
    "TableType": "Standard",
    "UsesBusinessDataLabelTable": False,
}

# Collection-valued navigation properties of EntityMetadata: $expand, or a path segment.
ENTITY_NAVIGATIONS = ("Attributes", "Keys", "ManyToManyRelationships",
                      "ManyToOneRelationships", "OneToManyRelationships")


def _privileges(table: Table) -> list[dict]:
    """SecurityPrivilegeMetadata: the documented per-table privileges (prvCreateAccount...)."""
    name = schema_name(table.logical_name)
    kinds = ("Create", "Read", "Write", "Delete", "Append", "AppendTo", "Assign", "Share")
    return [{"CanBeBasic": True, "CanBeDeep": True, "CanBeGlobal": True, "CanBeLocal": True,
             "CanBeEntityReference": False, "CanBeParentEntityReference": False,
             "Name": f"prv{kind}{name}", "PrivilegeId": metadata_id("privilege", kind, name),
             "PrivilegeType": kind} for kind in kinds]


def entity_json(table: Table, tracks_changes: bool) -> dict:
    return _render(ENTITY_PROPERTIES, table, tracks_changes)


# -- AttributeMetadata and its derived types ------------------------------------------------------

_Column = Callable[[Table, Attribute], Any]


def _by_column(getter: Callable[[Attribute], Any]) -> _Column:
    return lambda _table, attribute: getter(attribute)


# AttributeType -> (the derived metadata type, AttributeTypeName)
METADATA_TYPES = {
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

ATTRIBUTE_PROPERTIES: dict[str, Any] = {
    "MetadataId": lambda t, a: metadata_id("attribute", t.logical_name, a.name),
    "HasChanged": None,
    "AttributeOf": _by_column(lambda a: a.base_of),
    "AttributeType": _by_column(lambda a: a.type),
    "AttributeTypeName": _by_column(lambda a: {"Value": METADATA_TYPES[a.type][1]}),
    "AutoNumberFormat": "",
    "CanBeSecuredForCreate": False,
    "CanBeSecuredForRead": False,
    "CanBeSecuredForUpdate": False,
    "CanModifyAdditionalSettings": Managed(True, "canmodifyadditionalsettings"),
    "ColumnNumber": lambda t, a: t.attributes.index(a) + 1 if a in t.attributes else 0,
    "CreatedOn": "2020-01-01T00:00:00Z",
    "DeprecatedVersion": None,
    "Description": lambda t, a: label(a.description, t.logical_name, a.name, "d"),
    "DisplayName": lambda t, a: label(a.label, t.logical_name, a.name),
    "EntityLogicalName": lambda t, _a: t.logical_name,
    "ExternalName": None,
    "InheritsFrom": None,
    "IntroducedVersion": _by_column(lambda a: "1.0" if a.custom else "5.0.0.0"),
    "IsAuditEnabled": Managed(False, "canmodifyauditsettings"),
    "IsCustomAttribute": _by_column(lambda a: a.custom),
    "IsCustomizable": Managed(True, "iscustomizable"),
    "IsDataSourceSecret": False,
    "IsFilterable": True,
    "IsGlobalFilterEnabled": Managed(False, "canmodifyglobalfiltersettings"),
    "IsLogical": _by_column(lambda a: a.base_of is not None),
    "IsManaged": True,
    "IsPrimaryId": lambda t, a: a.name == t.primary_id,
    "IsPrimaryName": lambda t, a: a.name == t.primary_name,
    "IsRenameable": Managed(True, "isrenameable"),
    "IsRequiredForForm": False,
    "IsRetrievable": True,
    "IsSearchable": True,
    "IsSecured": False,
    "IsSortableEnabled": Managed(False, "canmodifyissortablesettings"),
    "IsValidForAdvancedFind": Managed(True, "canmodifysearchsettings"),
    "IsValidForCreate": _by_column(lambda a: a.writable),
    "IsValidForForm": True,
    "IsValidForGrid": True,
    "IsValidForRead": True,
    "IsValidForUpdate": lambda t, a: a.writable and a.name != t.primary_id,
    "LinkedAttributeId": None,
    "LogicalName": _by_column(lambda a: a.name),
    "ModifiedOn": "2020-01-01T00:00:00Z",
    "RequiredLevel": Managed(lambda t, a: "SystemRequired" if a.name == t.primary_id else "None",
                             "canmodifyrequirementlevelsettings"),
    "SchemaName": _by_column(lambda a: schema_name(a.name)),
    "SettingOf": None,
    "SourceType": 0,
}

_FORMULA = {"FormulaDefinition": None, "SourceTypeMask": 0}
_ENUM = {"DefaultFormValue": lambda t, a: -1 if a.type == "Picklist" else None,
         "OptionSetName": _by_column(lambda a: a.option_set)}

# The properties each derived type adds to AttributeMetadata's.
DERIVED_PROPERTIES: dict[str, dict[str, Any]] = {
    "StringAttributeMetadata": {
        **_FORMULA, "DatabaseLength": _by_column(lambda a: (a.max_length or 100) * 2),
        "Format": "Text", "FormatName": {"Value": "Text"}, "ImeMode": "Auto",
        "IsLocalizable": False, "MaxLength": _by_column(lambda a: a.max_length),
        "YomiOf": None},
    "MemoAttributeMetadata": {
        "DatabaseLength": _by_column(lambda a: (a.max_length or 2000) * 2),
        "Format": "TextArea", "FormatName": {"Value": "TextArea"}, "ImeMode": "Auto",
        "IsLocalizable": False, "MaxLength": _by_column(lambda a: a.max_length)},
    "IntegerAttributeMetadata": {**_FORMULA, "Format": "None", "MaxValue": 2147483647,
                                 "MinValue": -2147483648},
    "BigIntAttributeMetadata": {"MaxValue": 9223372036854775807,
                                "MinValue": -9223372036854775808},
    "DecimalAttributeMetadata": {**_FORMULA, "ImeMode": "Auto", "MaxValue": 100000000000.0,
                                 "MinValue": -100000000000.0, "Precision": 2},
    "DoubleAttributeMetadata": {"ImeMode": "Auto", "MaxValue": 100000000000.0,
                                "MinValue": -100000000000.0, "Precision": 2},
    "MoneyAttributeMetadata": {
        **_FORMULA, "CalculationOf": None, "ImeMode": "Auto",
        "IsBaseCurrency": _by_column(lambda a: a.base_of is not None),
        "MaxValue": 922337203685477.0, "MinValue": -922337203685477.0, "Precision": 2,
        "PrecisionSource": 2},
    "BooleanAttributeMetadata": {**_FORMULA, "DefaultValue": False},
    "DateTimeAttributeMetadata": {
        **_FORMULA,
        "CanChangeDateTimeBehavior": Managed(False, "canchangedatetimebehavior"),
        "DateTimeBehavior": _by_column(
            lambda a: {"Value": "DateOnly" if a.date_only else "UserLocal"}),
        "Format": _by_column(lambda a: "DateOnly" if a.date_only else "DateAndTime"),
        "ImeMode": "Auto", "MaxSupportedValue": "9999-12-30T23:59:59Z",
        "MinSupportedValue": "1753-01-01T00:00:00Z"},
    "PicklistAttributeMetadata": {**_FORMULA, **_ENUM, "ChildPicklistLogicalNames": [],
                                  "ParentPicklistLogicalName": None},
    "StateAttributeMetadata": dict(_ENUM),
    "StatusAttributeMetadata": dict(_ENUM),
    "LookupAttributeMetadata": {"Format": "None",
                                "Targets": _by_column(lambda a: list(a.targets))},
    "UniqueIdentifierAttributeMetadata": {},
    "EntityNameAttributeMetadata": {**_ENUM, "IsEntityReferenceStored": True},
}
# The abstract parent of the choice types: what a cast to it may $select.
ENUM_TYPE = "EnumAttributeMetadata"
ENUM_PROPERTIES = dict(_ENUM)
# Navigation properties of the typed casts ($expand only).
OPTION_SET_NAVIGATIONS = ("OptionSet", "GlobalOptionSet")
CHOICE_TYPES = ("Picklist", "State", "Status", "Boolean")


def type_of(attribute: Attribute) -> str:
    return METADATA_TYPES[attribute.type][0]


def properties_of(type_name: str) -> set[str]:
    """The names `$select` accepts on `type_name` (a metadata type without the namespace)."""
    if type_name == "AttributeMetadata":
        return set(ATTRIBUTE_PROPERTIES)
    if type_name == ENUM_TYPE:
        return set(ATTRIBUTE_PROPERTIES) | set(ENUM_PROPERTIES)
    return set(ATTRIBUTE_PROPERTIES) | set(DERIVED_PROPERTIES[type_name])


def attribute_json(table: Table, attribute: Attribute) -> dict:
    type_name = type_of(attribute)
    return {"@odata.type": f"#{CAST_PREFIX}{type_name}",
            **_render(ATTRIBUTE_PROPERTIES, table, attribute),
            **_render(DERIVED_PROPERTIES[type_name], table, attribute)}


def option_set_json(table: Table, attribute: Attribute) -> dict | None:
    """OptionSetMetadata (BooleanOptionSetMetadata for two-option columns), or None."""
    if attribute.type not in CHOICE_TYPES:
        return None
    name = attribute.option_set or f"{table.logical_name}_{attribute.name}"
    base = {
        "MetadataId": metadata_id("optionset", name),
        "HasChanged": None,
        "IsCustomOptionSet": attribute.custom,
        "IsCustomizable": {"Value": True, "CanBeChanged": True,
                           "ManagedPropertyLogicalName": "iscustomizable"},
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


# -- relationships --------------------------------------------------------------------------------

_CASCADE = {"Assign": "NoCascade", "Archive": "NoCascade", "Delete": "RemoveLink",
            "Merge": "NoCascade", "Reparent": "NoCascade", "Share": "NoCascade",
            "Unshare": "NoCascade", "RollupView": "NoCascade"}


def relationship_json(referencing: Table, attribute: Attribute, nav_name: str,
                      target: str) -> dict:
    """OneToManyRelationshipMetadata for one target of a lookup column: `target` (the
    referenced table) 1:N `referencing`."""
    referenced = TABLES_BY_NAME.get(target)
    schema = f"{referencing.logical_name}_{nav_name}"
    return {
        "MetadataId": metadata_id("relationship", schema),
        "HasChanged": None,
        "SchemaName": schema,
        "RelationshipType": "OneToManyRelationship",
        "IsCustomRelationship": attribute.custom,
        "IsCustomizable": {"Value": True, "CanBeChanged": True,
                           "ManagedPropertyLogicalName": "iscustomizable"},
        "IsManaged": True,
        "IsValidForAdvancedFind": True,
        "IntroducedVersion": "5.0.0.0",
        "SecurityTypes": "Append",
        "IsHierarchical": False,
        "IsRelationshipAttributeDenormalized": False,
        "ReferencedEntity": target,
        "ReferencedAttribute": referenced.primary_id if referenced else f"{target}id",
        "ReferencingEntity": referencing.logical_name,
        "ReferencingAttribute": attribute.name,
        "ReferencedEntityNavigationPropertyName": schema,
        "ReferencingEntityNavigationPropertyName": nav_name,
        "RelationshipBehavior": 0,
        "CascadeConfiguration": dict(_CASCADE),
        "AssociatedMenuConfiguration": {
            "Behavior": "UseCollectionName", "Group": "Details", "Order": None,
            "IsCustomizable": True, "Icon": None, "ViewId": "00000000-0000-0000-0000-000000000000",
            "AvailableOffline": True, "MenuId": None, "QueryApi": None,
            "Label": label("", schema)},
    }


RELATIONSHIP_PROPERTIES = frozenset(relationship_json(
    next(iter(TABLES_BY_NAME.values())), Attribute("x", "Lookup", "x"), "x", "x"))
